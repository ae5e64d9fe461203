"""The ops tinyc supports: versions, MAC/parameter rules, the op-rule table the memory planner reads,
and the check that a parsed graph is something a microcontroller can run (int8, one subgraph, static).

The op-rule table is the contract with the C runtime: ``view`` ops (RESHAPE) may alias their input
(the kernel must then be a no-op when input and output share memory), and ``inplace`` says, per
operator, which inputs an in-place kernel of the runtime may overwrite with the output and what scratch
it then needs (``tinyc.model.inplace``: CONV_2D, DEPTHWISE_CONV_2D, ADD, MUL, RELU, RELU6).
``inplace_input`` is the scratch-free form of the same declaration (one input, any shape).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tinyc.errors import TinycError
from tinyc.model import inplace as _inplace
from tinyc.model.graph import Graph, ModelError, Operator

__all__ = ["OpRule", "OP_RULES", "SUPPORTED", "macs", "params", "scratch_bytes", "check_supported",
           "UnsupportedModel", "inplace_form"]


class UnsupportedModel(ModelError):
    """A well-formed model that tinyc cannot run on a microcontroller."""


def _prod(xs) -> int:
    n = 1
    for x in xs:
        n *= int(x)
    return n


def _out_elems(g: Graph, op: Operator) -> int:
    return g.tensor(op.outputs[0]).size if op.outputs else 0


def _conv_macs(g: Graph, op: Operator) -> int:
    w = g.tensor(op.inputs[1]).shape  # [cout, kh, kw, cin]
    return _out_elems(g, op) * _prod(w[1:])


def _dw_macs(g: Graph, op: Operator) -> int:
    w = g.tensor(op.inputs[1]).shape  # [1, kh, kw, cout]
    return _out_elems(g, op) * w[1] * w[2]


def _fc_macs(g: Graph, op: Operator) -> int:
    w = g.tensor(op.inputs[1]).shape  # [units, depth]
    return _out_elems(g, op) * w[-1]


def _elementwise(g: Graph, op: Operator) -> int:
    return _out_elems(g, op)


def _zero(g: Graph, op: Operator) -> int:
    return 0


def _mean_scratch(g: Graph, op: Operator) -> list[int]:
    """TFLM's reduce kernel: an int32 accumulator per output element (int8/int16), then an int per input
    dimension (temp index) and an int per reduced axis (resolved axes). Matches the recorded arena head."""
    t = g.tensor(op.inputs[0])
    axis = g.tensor(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
    out = []
    if t.dtype in ("int8", "int16"):
        out.append(_out_elems(g, op) * 4)
    out.append(4 * len(t.shape))
    out.append(4 * (axis.size if axis is not None else 1))
    return out


@dataclass(frozen=True)
class OpRule:
    name: str
    max_version: int  # highest op version tinyc's runtime (and this table) understands
    macs: Callable[[Graph, Operator], int] = _zero
    view: bool = False  # output may alias input 0 (same bytes, reinterpreted shape)
    inplace_input: int | None = None  # input index the kernel may overwrite with its output
    # In-place kernel of tinyc's runtime for this op instance: inputs it may overwrite, scratch (or None)
    inplace: Callable[[Graph, Operator], "_inplace.InPlace | None"] | None = None
    scratch: Callable[[Graph, Operator], list[int]] | None = None  # TFLM reference kernel scratch requests
    runtime_scratch: Callable[[Graph, Operator], list[int]] | None = None  # tinyc runtime's arena scratch
    activation_dtypes: tuple[str, ...] = ("int8",)
    note: str = ""


OP_RULES: dict[str, OpRule] = {r.name: r for r in [
    OpRule("CONV_2D", 3, _conv_macs, inplace=_inplace.conv2d, note="v3: dilation; int8 per-channel"),
    OpRule("DEPTHWISE_CONV_2D", 3, _dw_macs, inplace=_inplace.depthwise_conv2d,
           note="v3: dilation; int8 per-channel"),
    OpRule("FULLY_CONNECTED", 5, _fc_macs, note="v5: keep_num_dims"),
    OpRule("AVERAGE_POOL_2D", 2, _zero),
    OpRule("MAX_POOL_2D", 2, _zero),
    OpRule("ADD", 2, _zero, inplace=_inplace.binary),
    OpRule("MUL", 2, _elementwise, inplace=_inplace.binary),
    OpRule("SOFTMAX", 2, _zero),
    OpRule("RESHAPE", 1, _zero, view=True),
    OpRule("PAD", 2, _zero),
    OpRule("CONCATENATION", 2, _zero),
    OpRule("MEAN", 2, _zero, scratch=_mean_scratch),
    OpRule("LOGISTIC", 2, _zero),
    OpRule("RELU", 2, _zero, inplace=_inplace.unary),
    OpRule("RELU6", 2, _zero, inplace=_inplace.unary),
    OpRule("QUANTIZE", 2, _zero, activation_dtypes=("int8", "float32")),
    OpRule("DEQUANTIZE", 2, _zero, activation_dtypes=("int8", "float32")),
]}

SUPPORTED = tuple(OP_RULES)


def macs(g: Graph, op: Operator) -> int:
    rule = OP_RULES.get(op.op)
    return rule.macs(g, op) if rule else 0


def params(g: Graph, op: Operator) -> int:
    """Elements of the op's constant inputs (weights, bias), counted once per op."""
    return sum(g.tensor(i).size for i in dict.fromkeys(op.inputs) if i >= 0 and g.tensor(i).is_constant)


def inplace_form(g: Graph, op: Operator, rules: dict[str, OpRule] | None = None) -> "_inplace.InPlace | None":
    """The in-place form the runtime has for ``op`` (None: it always writes a separate output)."""
    rule = (OP_RULES if rules is None else rules).get(op.op)
    if rule is None:
        return None
    if rule.inplace is not None:
        try:
            return rule.inplace(g, op)
        except (IndexError, ValueError, ZeroDivisionError):  # a malformed operator: no in-place form
            return None
    if rule.inplace_input is not None:
        return _inplace.InPlace((rule.inplace_input,))
    return None


def scratch_bytes(g: Graph, op: Operator, runtime: str = "tflm") -> list[int]:
    """Scratch buffers (unaligned bytes) ``op`` needs in the arena: those the TFLM reference kernel
    requests (runtime="tflm"), or those tinyc's C kernel declares (runtime="tinyc"; none declared yet:
    its MEAN accumulates in registers)."""
    rule = OP_RULES.get(op.op)
    if rule is None:
        return []
    fn = rule.scratch if runtime == "tflm" else rule.runtime_scratch
    return list(fn(g, op)) if fn else []


_FLOATS = ("float32", "float16", "float64")


def check_supported(g: Graph) -> None:
    """Raise a one-line UnsupportedModel for anything a microcontroller build cannot run."""
    where = str(g.path) if g.path else g.name
    if not g.operators:
        raise UnsupportedModel(f"{where}: the model has no operators; export a model with layers")
    for t in g.tensors:
        dims = t.shape_signature[1:] if len(t.shape_signature) > 1 else ()
        if any(d < 0 for d in t.shape) or any(d < 0 for d in dims):
            raise UnsupportedModel(
                f"{where}: tensor {t.index} '{t.name}' has a dynamic shape {list(t.shape_signature or t.shape)}; "
                "microcontrollers need static shapes: fix the input shape (batch 1) before converting")
    float_ops = [op for op in g.operators
                 if op.op not in ("QUANTIZE", "DEQUANTIZE")
                 and any(g.tensor(i).dtype in _FLOATS for i in op.outputs)]
    if float_ops:
        weights_int8 = any(
            g.tensor(i).dtype in ("int8", "uint8") and g.tensor(i).is_constant
            for op in float_ops for i in op.inputs if i >= 0)
        op = float_ops[0]
        if weights_int8:
            raise UnsupportedModel(
                f"{where}: hybrid model (int8 weights with float activations, e.g. op {op.index} {op.op}); "
                "TFLite Micro and tinyc need full-integer int8: convert with a representative dataset, "
                "supported_ops=[TFLITE_BUILTINS_INT8] (or `tinyc build`)")
        raise UnsupportedModel(
            f"{where}: float model (op {op.index} {op.op} computes in {g.tensor(op.outputs[0]).dtype}); "
            "quantize it to full-integer int8 (`tinyc build`, or TFLiteConverter with a representative dataset "
            "and supported_ops=[TFLITE_BUILTINS_INT8])")
    for op in g.operators:
        rule = OP_RULES.get(op.op)
        if rule is None:
            raise UnsupportedModel(
                f"{where}: op {op.index} {op.op} is not supported by tinyc (supported: {', '.join(SUPPORTED)}); "
                "replace that layer or express it with supported ops before converting")
        if op.version > rule.max_version:
            raise UnsupportedModel(
                f"{where}: op {op.index} {op.op} version {op.version} is not supported (tinyc handles up to "
                f"version {rule.max_version}); it usually means int16/int4 or another variant: convert to "
                "plain int8")
        for i in tuple(op.inputs) + tuple(op.outputs):
            if i < 0:
                continue
            t = g.tensor(i)
            if t.is_constant:
                continue
            if t.dtype not in rule.activation_dtypes:
                raise UnsupportedModel(
                    f"{where}: op {op.index} {op.op} has a {t.dtype} tensor '{t.name}'; tinyc runs int8 "
                    "activations only: convert with inference_input_type/inference_output_type=tf.int8")
    if any(t.is_variable for t in g.tensors):
        raise UnsupportedModel(f"{where}: the model has variable (stateful) tensors; tinyc runs stateless "
                               "models only: remove stateful layers")
