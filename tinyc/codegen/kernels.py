"""The kernel registry: one typed declaration per C kernel, and the typed operands a call passes it.

A ``Kernel`` names its runtime macro, the TFLite op it runs, its kernel set, the runtime source it lives in
(the reference's file: an optimized set's ``<stem>_<set>.c`` is copied beside it), its parameter struct,
its operands by role in C argument order, and whether it runs in place, decodes packed weights, or replaces
reference kernels (an optimized set overrides by op, like TFLite Micro's optimized kernel folders). A
``KernelCall`` holds its declaration and its operands by role (an arena offset, a constant array, a static
scratch buffer, an integer, none): no code reads C text back, and C text is written only by the templates
(templates/codegen/tinyc_model.c.j2). ``tests/test_kernel_registry.py`` checks every declaration against the
runtime headers (macro, source file, parameter struct).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Union


class KernelSet(enum.Enum):
    """A set of kernels selected at build time (firmware/runtime/kernels/, its arm_dsp/ and arm_mve/)."""

    REFERENCE = "reference"
    ARM_DSP = "arm_dsp"
    ARM_MVE = "arm_mve"
    ARM_SCALAR = "arm_scalar"  # ARMv6-M / ARMv7-M without the DSP extension (Cortex-M0, M0+, M3)


class Role(enum.Enum):
    """What an operand is to its kernel."""

    INPUT = enum.auto()
    INPUT2 = enum.auto()
    INPUTS = enum.auto()  # a table of input pointers (CONCATENATION)
    STRIDES = enum.auto()
    OUTPUT = enum.auto()
    IO = enum.auto()  # input and output at one address (in place)
    WEIGHTS = enum.auto()
    BIAS = enum.auto()
    MULTIPLIERS = enum.auto()
    SHIFTS = enum.auto()
    REQUANT = enum.auto()  # an optimized set's per-channel requantization records
    TABLE1 = enum.auto()  # per-input lookup tables (the DSP ADD)
    TABLE2 = enum.auto()
    SCRATCH = enum.auto()  # a kernel set's static scratch, outside the arena
    DECODED = enum.auto()  # the static buffer one channel of packed weights is decoded into
    RING = enum.auto()  # the memory plan's in-place buffer (row ring or plane), in the arena
    RING_ROWS = enum.auto()  # rows in the plan's ring; 0: the plane scheme
    COUNT = enum.auto()  # elements or bytes
    LOW = enum.auto()
    HIGH = enum.auto()
    OUTPUTS = enum.auto()  # a table of output pointers (SPLIT, SPLIT_V, UNPACK: one call writes every output)
    INDICES = enum.auto()  # a constant int32 index array (GATHER)


# --- operands ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Arena:
    """A tensor (or the plan's scratch) at a fixed offset in the static arena."""

    offset: int
    ctype: str = "int8_t"


@dataclass(frozen=True)
class Const:
    """A constant array in flash (tinyc_model_data.c), passed as ``cast`` where the kernel's pointer type
    differs from the array's."""

    name: str
    cast: str | None = None


@dataclass(frozen=True)
class Static:
    """A static RAM buffer declared in tinyc_model.c (a kernel set's scratch, the decoded channel)."""

    name: str
    cast: str | None = None


@dataclass(frozen=True)
class Int:
    """An integer argument (``unsigned``: written with a u suffix)."""

    value: int
    unsigned: bool = False


@dataclass(frozen=True)
class Null:
    """No array (a convolution without bias, a kernel set that needs no scratch here)."""


@dataclass(frozen=True)
class PointerTable:
    """A const table of tensor pointers, declared beside the call (CONCATENATION's inputs)."""

    name: str
    items: tuple[Arena | Const, ...]
    ctype: str = "int8_t"  # the element type the table points to (const)


Operand = Union[Arena, Const, Static, Int, Null, PointerTable]


@dataclass(frozen=True)
class StaticBuffer:
    """A declaration beside the first call that uses a static buffer: ``count`` elements of ``ctype``."""

    name: str
    ctype: str
    count: int
    what: str
    show_bytes: bool = True  # the comment also says the bytes

    @property
    def nbytes(self) -> int:
        return self.count * {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "int32_t": 4}[self.ctype]


# --- declarations --------------------------------------------------------------------------------------------

class CType(enum.Enum):
    """A C scalar type of a parameter field or an operand."""

    I8 = "int8_t"
    U8 = "uint8_t"
    I16 = "int16_t"
    I32 = "int32_t"
    U32 = "uint32_t"
    F32 = "float"


@dataclass(frozen=True)
class Field:
    """One field of a kernel's parameter struct (``count`` > 1: an array)."""

    name: str
    count: int = 1
    ctype: CType = CType.I32


@dataclass(frozen=True)
class ArgType:
    """The C type of an operand: a pointer to ``ctype`` (``const`` when the kernel only reads it), a pointer table,
    or a scalar."""

    ctype: CType
    pointer: bool = True
    const: bool = False
    table: bool = False  # a const table of pointers to const ``ctype``


# Each role's C type in a generated prototype (tinyc_ops.h); a declaration may override some (``arg_types``).
ROLE_TYPES: dict[Role, ArgType] = {
    Role.INPUT: ArgType(CType.I8, const=True), Role.INPUT2: ArgType(CType.I8, const=True),
    Role.INPUTS: ArgType(CType.I8, table=True), Role.STRIDES: ArgType(CType.I32, const=True),
    Role.OUTPUT: ArgType(CType.I8), Role.IO: ArgType(CType.I8), Role.WEIGHTS: ArgType(CType.I8, const=True),
    Role.BIAS: ArgType(CType.I32, const=True), Role.MULTIPLIERS: ArgType(CType.I32, const=True),
    Role.SHIFTS: ArgType(CType.I32, const=True), Role.REQUANT: ArgType(CType.I32, const=True),
    Role.TABLE1: ArgType(CType.I16, const=True), Role.TABLE2: ArgType(CType.I16, const=True),
    Role.SCRATCH: ArgType(CType.I8), Role.DECODED: ArgType(CType.I8), Role.RING: ArgType(CType.I8),
    Role.RING_ROWS: ArgType(CType.I32, pointer=False), Role.COUNT: ArgType(CType.I32, pointer=False),
    Role.LOW: ArgType(CType.I32, pointer=False), Role.HIGH: ArgType(CType.I32, pointer=False),
    # the template declares every pointer table const (const int8_t *const t[]): a kernel writing through
    # OUTPUTS casts the const away (the arena itself is writable)
    Role.OUTPUTS: ArgType(CType.I8, table=True), Role.INDICES: ArgType(CType.I32, const=True),
}

@dataclass(frozen=True)
class Kernel:
    """One C kernel: what lowering and the kernel sets emit, and what generate copies."""

    macro: str  # the runtime macro the generated code calls (defined in the set's header)
    ops: tuple[str, ...]  # the TFLite builtin operators it runs
    kernel_set: KernelSet
    source: str  # the reference file under firmware/runtime/kernels/ (an optimized set copies <stem>_<set>.c)
    params: str | None  # C parameter struct, or None (plain arguments)
    roles: tuple[Role, ...]  # operands after the parameter pointer, in C argument order
    inplace: bool = False  # safe with the output over the input (the memory plan's in-place layers)
    packed: bool = False  # decodes packed weights (kernels/unpack.c)
    replaces: tuple[str, ...] = ()  # the reference macros an optimized kernel takes over
    # A kernel whose C declarations tinyc generates (tinyc_ops.h): its parameter struct's fields, and the C types
    # of operands that differ from ROLE_TYPES. None: the struct and prototype are written in the set's header.
    fields: tuple[Field, ...] | None = None
    arg_types: tuple[tuple[Role, ArgType], ...] = ()
    # An optimized kernel declared with its own rewrite (an operator's variant, docs/kernels.md): called by its
    # set's specializer as specialize(specializer, call) for a call of a kernel it replaces; returns the call
    # on this kernel (call.to(...)) or a string saying why not.
    specialize: Any = None

    @property
    def generated(self) -> bool:
        """Its struct, macro and prototype come from this declaration (tinyc_ops.h), not a runtime header."""
        return self.fields is not None

    @property
    def function(self) -> str:
        """The C function a generated declaration's macro names: tinyc_<macro without TINYC_, lower case>, with
        ref_ before it for a reference kernel (TINYC_ABS_S8 -> tinyc_ref_abs_s8, TINYC_DSP_ABS_S8 -> tinyc_dsp_abs_s8)."""
        ref = "ref_" if self.kernel_set is KernelSet.REFERENCE else ""
        return f"tinyc_{ref}" + self.macro.removeprefix("TINYC_").lower()

    def arg_type(self, role: Role) -> ArgType:
        return dict(self.arg_types).get(role, ROLE_TYPES[role])


_REGISTRY: dict[str, Kernel] = {}


def declare(macro: str, ops: str | tuple[str, ...], source: str, params: str | None, roles: tuple[Role, ...], *,
            kernel_set: KernelSet = KernelSet.REFERENCE, inplace: bool = False, packed: bool = False,
            replaces: tuple[str, ...] = (), fields: tuple[Field, ...] | None = None,
            arg_types: dict[Role, ArgType] | None = None, specialize=None) -> Kernel:
    """Register one kernel (once per macro). ``source``: a file under firmware/runtime/kernels/, or the path of a
    C file beside a user's operator module. ``fields``: tinyc generates the struct ``params`` and the kernel's
    macro and prototype (tinyc_ops.h) from them."""
    if macro in _REGISTRY:
        raise ValueError(f"kernel {macro} is declared twice")
    if fields is not None and not params:
        raise ValueError(f"kernel {macro}: a generated declaration names its parameter struct")
    k = Kernel(macro, (ops,) if isinstance(ops, str) else tuple(ops), kernel_set, str(source), params, tuple(roles),
               inplace, packed, tuple(replaces), None if fields is None else tuple(fields),
               tuple((arg_types or {}).items()), specialize)
    _REGISTRY[macro] = k
    return k


def _operators_loaded() -> None:
    """Operator modules (tinyc/operators/, a user's folders) may declare kernels of their own."""
    from tinyc import operators

    operators.all_ops()


def get(macro: str) -> Kernel:
    if macro not in _REGISTRY:
        _operators_loaded()
    try:
        return _REGISTRY[macro]
    except KeyError:
        raise KeyError(f"no kernel {macro} is declared (tinyc/codegen/kernels.py, tinyc/operators/)") from None


def all_kernels() -> tuple[Kernel, ...]:
    _operators_loaded()
    return tuple(_REGISTRY.values())


# --- calls ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KernelCall:
    """One operator's call: its kernel, parameter values (field -> int or list of ints, initialized by name),
    and operands by role."""

    index: int  # operator index in the graph
    op: str  # TFLite builtin name
    kernel: Kernel
    params: tuple[tuple[str, Any], ...]
    operands: tuple[tuple[Role, Operand], ...]
    macs: int = 0
    buffers: tuple[StaticBuffer, ...] = field(default=())  # declared beside this call

    def __post_init__(self):
        roles = tuple(r for r, _ in self.operands)
        if roles != self.kernel.roles:
            raise ValueError(f"{self.kernel.macro} takes {[r.name for r in self.kernel.roles]}, "
                             f"given {[r.name for r in roles]}")
        if self.kernel.generated:
            given, fields = {f for f, _ in self.params}, {f.name for f in self.kernel.fields}
            if given != fields:
                raise ValueError(f"{self.kernel.macro}'s parameters are {sorted(fields)}, given {sorted(given)}")

    @property
    def macro(self) -> str:
        return self.kernel.macro

    @property
    def params_type(self) -> str | None:
        return self.kernel.params

    @property
    def source(self) -> str:
        return self.kernel.source

    @property
    def args(self) -> tuple[Operand, ...]:
        """The operands in C argument order (what the template writes)."""
        return tuple(o for _, o in self.operands)

    def __getitem__(self, role: Role) -> Operand:
        for r, o in self.operands:
            if r is role:
                return o
        raise KeyError(f"{self.kernel.macro} has no {role.name} operand")

    def has(self, role: Role) -> bool:
        return any(r is role for r, _ in self.operands)

    def param(self, name: str) -> Any:
        return dict(self.params)[name]

    def to(self, kernel: Kernel, params: dict[str, Any] | None = None, **operands: Operand) -> "KernelCall":
        """This call on ``kernel``: operands taken by role name from ``operands``, else from this call."""
        return replace(self, kernel=kernel, params=self.params if params is None else tuple(params.items()),
                       operands=by_role(kernel, operands, dict(self.operands)))

    def consts(self) -> Iterator[str]:
        """The constant arrays this call reads (operands and pointer tables)."""
        for o in self.args:
            if isinstance(o, Const):
                yield o.name
            elif isinstance(o, PointerTable):
                yield from (i.name for i in o.items if isinstance(i, Const))

    def statics(self) -> Iterator[str]:
        for o in self.args:
            if isinstance(o, Static):
                yield o.name


def by_role(kernel: Kernel, given: dict[str, Operand], fallback: dict[Role, Operand] | None = None
            ) -> tuple[tuple[Role, Operand], ...]:
    """``kernel``'s operands in its order: each role from ``given`` (by lower-case role name), else from
    ``fallback``; a name the kernel has no role for, or a role neither gives, is refused."""
    unknown = set(given) - {r.name.lower() for r in kernel.roles}
    if unknown:
        raise ValueError(f"{kernel.macro} has no operand {sorted(unknown)[0]!r}")
    fallback = fallback or {}
    out = []
    for role in kernel.roles:
        if role.name.lower() in given:
            out.append((role, given[role.name.lower()]))
        elif role in fallback:
            out.append((role, fallback[role]))
        else:
            raise ValueError(f"{kernel.macro} needs a {role.name} operand")
    return tuple(out)


R = Role
CONV_ROLES = (R.INPUT, R.WEIGHTS, R.BIAS, R.MULTIPLIERS, R.SHIFTS, R.OUTPUT)
UNARY = (R.INPUT, R.OUTPUT)
# in place: the plan's row ring (RING_ROWS 0: the plane scheme) or its one-pixel buffer, as RING
REF_RING_ROLES = (R.RING_ROWS, R.IO, R.WEIGHTS, R.BIAS, R.MULTIPLIERS, R.SHIFTS, R.RING)
RING_ROLES = (R.RING_ROWS, R.IO, R.WEIGHTS, R.BIAS, R.REQUANT, R.SCRATCH, R.RING)  # the optimized sets' ring kernels
POINTWISE_ROLES = (R.IO, R.WEIGHTS, R.BIAS, R.REQUANT, R.SCRATCH)
PLANE_ROLES = (R.IO, R.WEIGHTS, R.BIAS, R.REQUANT, R.RING)
BINARY = (R.INPUT, R.INPUT2, R.OUTPUT)
REF, DSP, MVE = KernelSet.REFERENCE, KernelSet.ARM_DSP, KernelSet.ARM_MVE

# Reference kernels (firmware/runtime/include/tinyc_rt.h): portable C, every core.
CONV2D = declare("TINYC_CONV2D_S8", "CONV_2D", "conv2d.c", "tinyc_conv_params_t", CONV_ROLES)
DEPTHWISE_CONV2D = declare("TINYC_DEPTHWISE_CONV2D_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d.c",
                           "tinyc_dwconv_params_t", CONV_ROLES)
FULLY_CONNECTED = declare("TINYC_FULLY_CONNECTED_S8", "FULLY_CONNECTED", "fully_connected.c", "tinyc_fc_params_t",
                          CONV_ROLES)
AVG_POOL = declare("TINYC_AVG_POOL_S8", "AVERAGE_POOL_2D", "avg_pool.c", "tinyc_pool_params_t", UNARY)
MAX_POOL = declare("TINYC_MAX_POOL_S8", "MAX_POOL_2D", "max_pool.c", "tinyc_pool_params_t", UNARY)
ADD = declare("TINYC_ADD_S8", "ADD", "add.c", "tinyc_binary_params_t", BINARY)
MUL = declare("TINYC_MUL_S8", "MUL", "mul.c", "tinyc_binary_params_t", BINARY)
SOFTMAX = declare("TINYC_SOFTMAX_S8", "SOFTMAX", "softmax.c", "tinyc_softmax_params_t", UNARY)
LOGISTIC = declare("TINYC_LOGISTIC_S8", "LOGISTIC", "logistic.c", "tinyc_logistic_params_t", UNARY)
COPY = declare("TINYC_COPY", ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"), "copy.c", None, (R.INPUT, R.OUTPUT, R.COUNT))
PAD = declare("TINYC_PAD_S8", ("PAD", "PADV2"), "pad.c", "tinyc_pad_params_t", UNARY)
CONCAT = declare("TINYC_CONCAT_S8", "CONCATENATION", "concatenation.c", "tinyc_concat_params_t",
                 (R.INPUTS, R.STRIDES, R.OUTPUT))
MEAN = declare("TINYC_MEAN_S8", "MEAN", "mean.c", "tinyc_mean_params_t", UNARY)
REQUANT = declare("TINYC_REQUANT_S8", ("QUANTIZE", "RELU"), "requant.c", "tinyc_requant_params_t", UNARY)
CLAMP = declare("TINYC_CLAMP_S8", "RELU6", "clamp.c", None, (R.COUNT, R.LOW, R.HIGH, R.INPUT, R.OUTPUT))
QUANTIZE = declare("TINYC_QUANTIZE_F32_S8", "QUANTIZE", "quantize.c", "tinyc_quantize_params_t", UNARY)
DEQUANTIZE = declare("TINYC_DEQUANTIZE_S8_F32", "DEQUANTIZE", "dequantize.c", "tinyc_dequantize_params_t", UNARY)

# Packed weights (docs/compressed-weights.md): one channel decoded at a time by kernels/unpack.c.
PACKED_ROLES = (*CONV_ROLES, R.DECODED)
CONV2D_PACKED = declare("TINYC_CONV2D_PACKED_S8", "CONV_2D", "conv2d_packed.c", "tinyc_conv_params_t",
                        PACKED_ROLES, packed=True)
DEPTHWISE_CONV2D_PACKED = declare("TINYC_DEPTHWISE_CONV2D_PACKED_S8", "DEPTHWISE_CONV_2D",
                                  "depthwise_conv2d_packed.c", "tinyc_dwconv_params_t", PACKED_ROLES, packed=True)
FULLY_CONNECTED_PACKED = declare("TINYC_FULLY_CONNECTED_PACKED_S8", "FULLY_CONNECTED", "fully_connected_packed.c",
                                 "tinyc_fc_params_t", PACKED_ROLES, packed=True)

# In place (tinyc/codegen/inplace.py): the layers the memory plan runs with the output over the input.
CONV2D_INPLACE = declare("TINYC_CONV2D_INPLACE_S8", "CONV_2D", "conv2d_inplace.c", "tinyc_conv_params_t",
                         REF_RING_ROLES, inplace=True)
CONV2D_POINTWISE_INPLACE = declare("TINYC_CONV2D_POINTWISE_INPLACE_S8", "CONV_2D", "conv2d_inplace.c",
                                   "tinyc_conv_params_t",
                                   (R.IO, R.WEIGHTS, R.BIAS, R.MULTIPLIERS, R.SHIFTS, R.RING), inplace=True)
DEPTHWISE_CONV2D_INPLACE = declare("TINYC_DEPTHWISE_CONV2D_INPLACE_S8", "DEPTHWISE_CONV_2D",
                                   "depthwise_conv2d_inplace.c", "tinyc_dwconv_params_t",
                                   REF_RING_ROLES,
                                   inplace=True)
ADD_INPLACE = declare("TINYC_ADD_INPLACE_S8", "ADD", "add.c", "tinyc_binary_params_t", BINARY, inplace=True)
MUL_INPLACE = declare("TINYC_MUL_INPLACE_S8", "MUL", "mul.c", "tinyc_binary_params_t", BINARY, inplace=True)
REQUANT_INPLACE = declare("TINYC_REQUANT_INPLACE_S8", ("QUANTIZE", "RELU"), "requant.c", "tinyc_requant_params_t",
                          UNARY,
                          inplace=True)
CLAMP_INPLACE = declare("TINYC_CLAMP_INPLACE_S8", "RELU6", "clamp.c", None,
                        (R.COUNT, R.LOW, R.HIGH, R.INPUT, R.OUTPUT), inplace=True)
# normal kernel -> in-place kernel, for the elementwise ops whose reference kernel is safe in place
ELEMENTWISE_INPLACE = {ADD: ADD_INPLACE, MUL: MUL_INPLACE, REQUANT: REQUANT_INPLACE, CLAMP: CLAMP_INPLACE}

# The Arm DSP set (kernels/arm_dsp/, tinyc/codegen/specialize.py): Cortex-M4/M7/M33, and the M55's fallback.
DSP_CONV_ROLES = (R.INPUT, R.WEIGHTS, R.BIAS, R.REQUANT, R.OUTPUT, R.SCRATCH)
DSP_CONV = declare("TINYC_DSP_CONV_S8", ("CONV_2D", "FULLY_CONNECTED", "DEPTHWISE_CONV_2D"), "conv2d.c",
                   "tinyc_dsp_conv_params_t", DSP_CONV_ROLES,
                   kernel_set=DSP, replaces=(CONV2D.macro, FULLY_CONNECTED.macro, DEPTHWISE_CONV2D.macro))
DSP_FC = declare("TINYC_DSP_FC_S8", "FULLY_CONNECTED", "fully_connected.c", "tinyc_dsp_conv_params_t",
                 DSP_CONV_ROLES, kernel_set=DSP, replaces=(FULLY_CONNECTED.macro,))
DSP_DWCONV = declare("TINYC_DSP_DEPTHWISE_CONV_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d.c",
                     "tinyc_dsp_dwconv_params_t", DSP_CONV_ROLES, kernel_set=DSP,
                     replaces=(DEPTHWISE_CONV2D.macro,))
DSP_ADD = declare("TINYC_DSP_ADD_S8", "ADD", "add.c", "tinyc_dsp_add_params_t", (*BINARY, R.TABLE1, R.TABLE2),
                  kernel_set=DSP, replaces=(ADD.macro,))
DSP_AVG_POOL = declare("TINYC_DSP_AVG_POOL_S8", "AVERAGE_POOL_2D", "avg_pool.c", "tinyc_pool_params_t", UNARY,
                       kernel_set=DSP, replaces=(AVG_POOL.macro,))
DSP_CONV_PW_INPLACE = declare("TINYC_DSP_CONV_POINTWISE_INPLACE_S8", "CONV_2D", "conv2d.c",
                              "tinyc_dsp_conv_params_t", POINTWISE_ROLES,
                              kernel_set=DSP, inplace=True, replaces=(CONV2D_POINTWISE_INPLACE.macro,))
DSP_CONV_ROWS_INPLACE = declare("TINYC_DSP_CONV_ROWS_INPLACE_S8", ("CONV_2D", "DEPTHWISE_CONV_2D"), "conv2d.c",
                                "tinyc_dsp_conv_params_t",
                                RING_ROLES,
                                kernel_set=DSP, inplace=True,
                                replaces=(CONV2D_INPLACE.macro, DEPTHWISE_CONV2D_INPLACE.macro))
DSP_DW_ROWS_INPLACE = declare("TINYC_DSP_DEPTHWISE_ROWS_INPLACE_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d.c",
                              "tinyc_dsp_dwconv_params_t",
                              RING_ROLES,
                              kernel_set=DSP, inplace=True, replaces=(DEPTHWISE_CONV2D_INPLACE.macro,))
DSP_DW_PLANE_INPLACE = declare("TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d.c",
                               "tinyc_dsp_dwconv_params_t", PLANE_ROLES,
                               kernel_set=DSP, inplace=True, replaces=(DEPTHWISE_CONV2D_INPLACE.macro,))
DSP_ADD_INPLACE = declare("TINYC_DSP_ADD_INPLACE_S8", "ADD", "add.c", "tinyc_dsp_add_params_t",
                          (*BINARY, R.TABLE1, R.TABLE2), kernel_set=DSP, inplace=True,
                          replaces=(ADD_INPLACE.macro,))

# CONV_2D / FULLY_CONNECTED with packed weights: the blob decoded once per call into the matmul's layout in the
# static DECODED buffer (word aligned, sized by the specializer), then TINYC_DSP_CONV_S8's matrix multiply.
DSP_CONV_PACKED = declare("TINYC_DSP_CONV_PACKED_S8", ("CONV_2D", "FULLY_CONNECTED"), "conv2d_packed.c",
                          "tinyc_dsp_conv_params_t", (*DSP_CONV_ROLES, R.DECODED), kernel_set=DSP, packed=True,
                          replaces=(CONV2D_PACKED.macro, FULLY_CONNECTED_PACKED.macro))
# --weights packed-ram: the same blob decoded once, by tinyc_model_init(), into a static buffer of its own that
# the set's dense matmul (TINYC_DSP_CONV_S8) then reads on every inference. Called at start-up, not per op: a
# LoweredModel's init_calls. SCRATCH: where the row decoders work (the arena's start, unused at start-up), or
# NULL (past the layout, in the buffer).
DSP_DECODE_PACKED = declare("TINYC_DSP_DECODE_PACKED_S8", ("CONV_2D", "FULLY_CONNECTED"), "conv2d_packed.c",
                            "tinyc_dsp_conv_params_t", (R.WEIGHTS, R.DECODED, R.SCRATCH), kernel_set=DSP,
                            packed=True, replaces=(CONV2D_PACKED.macro, FULLY_CONNECTED_PACKED.macro))
# ... and a depthwise filter into the layout of TINYC_DSP_DEPTHWISE_CONV_S8 (its parameters say which).
DSP_DECODE_DW_PACKED = declare("TINYC_DSP_DECODE_DW_PACKED_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d_packed.c",
                               "tinyc_dsp_dwconv_params_t", (R.WEIGHTS, R.DECODED, R.SCRATCH), kernel_set=DSP,
                               packed=True, replaces=(DEPTHWISE_CONV2D_PACKED.macro,))

# The Helium set (kernels/arm_mve/, tinyc/codegen/specialize_mve.py): the Cortex-M55, chained to the DSP set.
MVE_CONV = declare("TINYC_MVE_CONV_S8", ("CONV_2D", "DEPTHWISE_CONV_2D"), "conv2d.c", "tinyc_mve_conv_params_t",
                   DSP_CONV_ROLES,
                   kernel_set=MVE, replaces=(CONV2D.macro, DEPTHWISE_CONV2D.macro))
MVE_FC = declare("TINYC_MVE_FC_S8", "FULLY_CONNECTED", "fully_connected.c", "tinyc_mve_conv_params_t",
                 DSP_CONV_ROLES, kernel_set=MVE, replaces=(FULLY_CONNECTED.macro,))
# CONV_2D / FULLY_CONNECTED with packed weights: the blob decoded once per call into the MVE matmul's layout in
# the static DECODED buffer (shared with the DSP set's packed kernel), then TINYC_MVE_CONV_S8's matrix multiply.
MVE_CONV_PACKED = declare("TINYC_MVE_CONV_PACKED_S8", ("CONV_2D", "FULLY_CONNECTED"), "conv2d_packed.c",
                          "tinyc_mve_conv_params_t", (*DSP_CONV_ROLES, R.DECODED), kernel_set=MVE, packed=True,
                          replaces=(CONV2D_PACKED.macro, FULLY_CONNECTED_PACKED.macro))
MVE_DECODE_PACKED = declare("TINYC_MVE_DECODE_PACKED_S8", ("CONV_2D", "FULLY_CONNECTED"), "conv2d_packed.c",
                            "tinyc_mve_conv_params_t", (R.WEIGHTS, R.DECODED, R.SCRATCH), kernel_set=MVE,
                            packed=True,  # as DSP_DECODE_PACKED, for TINYC_MVE_CONV_S8
                            replaces=(CONV2D_PACKED.macro, FULLY_CONNECTED_PACKED.macro))
MVE_DECODE_DW_PACKED = declare("TINYC_MVE_DECODE_DW_PACKED_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d_packed.c",
                               "tinyc_mve_dwconv_params_t", (R.WEIGHTS, R.DECODED, R.SCRATCH), kernel_set=MVE,
                               packed=True, replaces=(DEPTHWISE_CONV2D_PACKED.macro,))  # for TINYC_MVE_DEPTHWISE_CONV_S8
MVE_CONV_PW_INPLACE = declare("TINYC_MVE_CONV_POINTWISE_INPLACE_S8", "CONV_2D", "conv2d.c",
                              "tinyc_mve_conv_params_t", POINTWISE_ROLES,
                              kernel_set=MVE, inplace=True, replaces=(CONV2D_POINTWISE_INPLACE.macro,))
MVE_CONV_ROWS_INPLACE = declare("TINYC_MVE_CONV_ROWS_INPLACE_S8", ("CONV_2D", "DEPTHWISE_CONV_2D"), "conv2d.c",
                                "tinyc_mve_conv_params_t",
                                RING_ROLES,
                                kernel_set=MVE, inplace=True,
                                replaces=(CONV2D_INPLACE.macro, DEPTHWISE_CONV2D_INPLACE.macro))
MVE_DWCONV = declare("TINYC_MVE_DEPTHWISE_CONV_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d.c",
                     "tinyc_mve_dwconv_params_t", DSP_CONV_ROLES, kernel_set=MVE,
                     replaces=(DEPTHWISE_CONV2D.macro,))
MVE_DW_ROWS_INPLACE = declare("TINYC_MVE_DEPTHWISE_ROWS_INPLACE_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d.c",
                              "tinyc_mve_dwconv_params_t",
                              RING_ROLES,
                              kernel_set=MVE, inplace=True, replaces=(DEPTHWISE_CONV2D_INPLACE.macro,))
MVE_DW_PLANE_INPLACE = declare("TINYC_MVE_DEPTHWISE_PLANE_INPLACE_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d.c",
                               "tinyc_mve_dwplane_params_t", PLANE_ROLES,
                               kernel_set=MVE, inplace=True, replaces=(DEPTHWISE_CONV2D_INPLACE.macro,))
MVE_ADD = declare("TINYC_MVE_ADD_S8", "ADD", "add.c", "tinyc_mve_add_params_t", BINARY, kernel_set=MVE,
                  replaces=(ADD.macro,))
MVE_ADD_INPLACE = declare("TINYC_MVE_ADD_INPLACE_S8", "ADD", "add.c", "tinyc_mve_add_params_t", BINARY,
                          kernel_set=MVE, inplace=True, replaces=(ADD_INPLACE.macro,))
MVE_AVG_POOL = declare("TINYC_MVE_AVG_POOL_S8", "AVERAGE_POOL_2D", "avg_pool.c", "tinyc_pool_params_t", UNARY,
                       kernel_set=MVE, replaces=(AVG_POOL.macro,))


def sources() -> dict[str, str]:
    """macro -> reference source file (what generate copies, with a set's variant beside it)."""
    return {k.macro: k.source for k in all_kernels()}


def inplace_macros() -> tuple[str, ...]:
    return tuple(k.macro for k in all_kernels() if k.inplace)


def generated(macros) -> tuple[Kernel, ...]:
    """The kernels among ``macros`` whose C declarations tinyc generates (tinyc_ops.h), in macro order."""
    return tuple(k for k in sorted((get(m) for m in set(macros)), key=lambda k: k.macro) if k.generated)


def kernel_set_of(macro: str) -> str:
    """"arm_mve", "arm_dsp" or "reference" (a name not declared: reference)."""
    k = _REGISTRY.get(macro.partition("/")[0])
    return k.kernel_set.value if k is not None else "reference"


# --- The scalar Arm set (kernels/arm_scalar/, tinyc/codegen/specialize_arm_scalar.py): the cores without the
# DSP extension (Cortex-M0, M0+, M1: ARMv6-M; Cortex-M3: ARMv7-M). Declared last: the other sets do not
# depend on it.
SCALAR = KernelSet.ARM_SCALAR
SCALAR_CONV = declare("TINYC_SCALAR_CONV_S8", ("CONV_2D", "FULLY_CONNECTED", "DEPTHWISE_CONV_2D"), "conv2d.c",
                      "tinyc_scalar_conv_params_t", DSP_CONV_ROLES, kernel_set=SCALAR,
                      replaces=(CONV2D.macro, FULLY_CONNECTED.macro, DEPTHWISE_CONV2D.macro))
SCALAR_FC = declare("TINYC_SCALAR_FC_S8", "FULLY_CONNECTED", "fully_connected.c", "tinyc_scalar_conv_params_t",
                    DSP_CONV_ROLES, kernel_set=SCALAR, replaces=(FULLY_CONNECTED.macro,))
SCALAR_DWCONV = declare("TINYC_SCALAR_DEPTHWISE_CONV_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d.c",
                        "tinyc_scalar_dwconv_params_t", DSP_CONV_ROLES, kernel_set=SCALAR,
                        replaces=(DEPTHWISE_CONV2D.macro,))
SCALAR_CONV_PW_INPLACE = declare("TINYC_SCALAR_CONV_POINTWISE_INPLACE_S8", "CONV_2D", "conv2d.c",
                                 "tinyc_scalar_conv_params_t", POINTWISE_ROLES, kernel_set=SCALAR, inplace=True,
                                 replaces=(CONV2D_POINTWISE_INPLACE.macro,))
SCALAR_CONV_ROWS_INPLACE = declare("TINYC_SCALAR_CONV_ROWS_INPLACE_S8", ("CONV_2D", "DEPTHWISE_CONV_2D"), "conv2d.c",
                                   "tinyc_scalar_conv_params_t", RING_ROLES, kernel_set=SCALAR, inplace=True,
                                   replaces=(CONV2D_INPLACE.macro, DEPTHWISE_CONV2D_INPLACE.macro))
SCALAR_DW_ROWS_INPLACE = declare("TINYC_SCALAR_DEPTHWISE_ROWS_INPLACE_S8", "DEPTHWISE_CONV_2D", "depthwise_conv2d.c",
                                 "tinyc_scalar_dwconv_params_t", RING_ROLES, kernel_set=SCALAR, inplace=True,
                                 replaces=(DEPTHWISE_CONV2D_INPLACE.macro,))
SCALAR_DW_PLANE_INPLACE = declare("TINYC_SCALAR_DEPTHWISE_PLANE_INPLACE_S8", "DEPTHWISE_CONV_2D",
                                  "depthwise_conv2d.c", "tinyc_scalar_dwconv_params_t",
                                  (R.IO, R.WEIGHTS, R.BIAS, R.REQUANT, R.SCRATCH, R.RING),
                                  kernel_set=SCALAR, inplace=True, replaces=(DEPTHWISE_CONV2D_INPLACE.macro,))
