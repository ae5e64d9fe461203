"""A .tflite file as plain frozen dataclasses: tensors, operators in execution order, inputs and outputs.

Parsing uses the flatbuffer schema module that tflite-micro ships (never a hand-written reader). It is
loaded straight from its file: ``import tflite_micro`` would start the C++ interpreter, and
``tinyc check`` must stay fast and TensorFlow-free.

``parse`` accepts any well-formed single-subgraph TFLite file (float too: the optimizer reads them);
what a microcontroller can run is decided by ``tinyc.model.ops.check_supported``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import struct
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.errors import TinycError

__all__ = ["ModelError", "Quantization", "Tensor", "Operator", "Graph", "load", "parse", "schema"]

_SCHEMA_MODULE = "tinyc._tflite_schema"


class ModelError(TinycError):
    """The model file cannot be read or is not something tinyc can run."""


@cache
def schema():
    """The generated TFLite schema module from the tflite-micro wheel, without importing its interpreter."""
    if _SCHEMA_MODULE in sys.modules:
        return sys.modules[_SCHEMA_MODULE]
    spec = importlib.util.find_spec("tflite_micro")
    if spec is None or not spec.submodule_search_locations:
        raise TinycError("the tflite-micro package is not installed; run `.venv/bin/pip install -e .`")
    path = Path(spec.submodule_search_locations[0]) / "tensorflow/lite/micro/python/schema_py_generated.py"
    if not path.is_file():
        raise TinycError(f"{path} is missing from the tflite-micro package; reinstall tflite-micro")
    mspec = importlib.util.spec_from_file_location(_SCHEMA_MODULE, path)
    module = importlib.util.module_from_spec(mspec)
    sys.modules[_SCHEMA_MODULE] = module
    mspec.loader.exec_module(module)
    return module


def _enum_names(cls) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


@cache
def _tables() -> dict[str, dict[int, str]]:
    s = schema()
    return {
        "dtype": {v: k.lower() for v, k in _enum_names(s.TensorType).items()},
        "op": _enum_names(s.BuiltinOperator),
        "padding": _enum_names(s.Padding),
        "activation": _enum_names(s.ActivationFunctionType),
        "options": _enum_names(s.BuiltinOptions),
        "options2": _enum_names(s.BuiltinOptions2),
    }


NUMPY_DTYPES = {
    "float32": np.float32, "float16": np.float16, "float64": np.float64, "int8": np.int8, "uint8": np.uint8,
    "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32, "int64": np.int64,
    "uint64": np.uint64, "bool": np.bool_,
}
# Bytes per element; int4 is packed two to a byte in the flatbuffer but unpacked (1 byte) in an arena.
ITEMSIZE = {"float32": 4, "float16": 2, "float64": 8, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2,
            "int32": 4, "uint32": 4, "int64": 8, "uint64": 8, "bool": 1, "int4": 1, "complex64": 8,
            "complex128": 16, "bfloat16": 2}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization real = scale * (q - zero_point); per-channel along quantized_dimension."""

    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()
    quantized_dimension: int = 0

    @property
    def is_quantized(self) -> bool:
        return len(self.scales) > 0

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1

    @property
    def scale(self) -> float:
        """The per-tensor scale (raises for per-channel tensors)."""
        if len(self.scales) != 1:
            raise ValueError("tensor is not per-tensor quantized")
        return self.scales[0]

    @property
    def zero_point(self) -> int:
        if len(self.zero_points) < 1:
            raise ValueError("tensor has no zero point")
        return self.zero_points[0]

    def to_json(self) -> dict[str, Any]:
        return {"scales": list(self.scales), "zero_points": list(self.zero_points),
                "quantized_dimension": self.quantized_dimension}


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quantization: Quantization
    is_constant: bool
    data: np.ndarray | None = field(default=None, compare=False, repr=False)
    is_variable: bool = False
    shape_signature: tuple[int, ...] = ()
    buffer: int = 0

    @property
    def size(self) -> int:
        """Number of elements."""
        n = 1
        for d in self.shape:
            n *= max(d, 0)
        return n

    @property
    def itemsize(self) -> int:
        return ITEMSIZE.get(self.dtype, 1)

    @property
    def nbytes(self) -> int:
        """Bytes the tensor takes in memory (an arena, or flash for a constant), unaligned."""
        return self.size * self.itemsize

    @property
    def stored_nbytes(self) -> int:
        """Bytes of constant data in the file (0 for activations)."""
        return int(self.data.nbytes) if self.data is not None else 0

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "quantization": self.quantization.to_json(), "is_constant": self.is_constant,
                "is_variable": self.is_variable, "nbytes": self.nbytes}


@dataclass(frozen=True)
class Operator:
    index: int
    op: str  # builtin name, e.g. "CONV_2D"; "CUSTOM:<code>" for custom ops
    version: int
    inputs: tuple[int, ...]  # tensor indices, -1 for an absent optional input
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    intermediates: tuple[int, ...] = ()
    options_type: str = ""  # the builtin options table the file holds ("Conv2DOptions"; "" for none)

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "op": self.op, "version": self.version, "inputs": list(self.inputs),
                "outputs": list(self.outputs), "options": self.options}


@dataclass(frozen=True)
class Graph:
    name: str
    path: Path | None
    sha256: str
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]  # execution order
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    file_size: int = 0
    schema_version: int = 3
    description: str = ""
    subgraph_count: int = 1
    buffer_count: int = 0  # buffers in the file (tensor.buffer must be below it; 0 is the empty buffer)
    # Operators computed at generation time (tinyc.model.fold): their outputs are constants here, they emit no
    # kernel call; ``file_tensors`` holds the tensors as the file has them (empty when nothing is folded).
    folded: tuple[int, ...] = ()
    file_tensors: tuple[Tensor, ...] = field(default=(), compare=False, repr=False)

    def tensor(self, i: int) -> Tensor:
        return self.tensors[i]

    def op_inputs(self, op: Operator) -> list[Tensor | None]:
        return [self.tensors[i] if i >= 0 else None for i in op.inputs]

    def op_outputs(self, op: Operator) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]

    def producer(self, tensor: int) -> Operator | None:
        """The operator that writes ``tensor`` (None for graph inputs and constants)."""
        return self._producers().get(tensor)

    def producers(self) -> dict[int, Operator]:
        return dict(self._producers())

    def consumers(self, tensor: int) -> list[Operator]:
        """Operators that read ``tensor``, in execution order."""
        return list(self._consumers().get(tensor, ()))

    def _producers(self) -> dict[int, Operator]:
        cached = self.__dict__.get("_prod")
        if cached is None:
            cached = {t: op for op in self.operators for t in op.outputs if t >= 0}
            object.__setattr__(self, "_prod", cached)
        return cached

    def _consumers(self) -> dict[int, tuple[Operator, ...]]:
        cached = self.__dict__.get("_cons")
        if cached is None:
            d: dict[int, list[Operator]] = {}
            for op in self.operators:
                for t in dict.fromkeys(i for i in op.inputs if i >= 0):
                    d.setdefault(t, []).append(op)
            cached = {k: tuple(v) for k, v in d.items()}
            object.__setattr__(self, "_cons", cached)
        return cached

    def as_file(self) -> "Graph":
        """The graph as TFLite Micro runs it: folded operators' outputs are activations again."""
        if not self.folded:
            return self
        from dataclasses import replace

        return replace(self, tensors=self.file_tensors, folded=(), file_tensors=())

    @property
    def constants(self) -> list[Tensor]:
        return [t for t in self.tensors if t.is_constant]

    @property
    def activations(self) -> list[Tensor]:
        """Non-constant tensors (graph inputs, intermediates, outputs, variables)."""
        return [t for t in self.tensors if not t.is_constant]

    @property
    def op_names(self) -> list[str]:
        return sorted({op.op for op in self.operators})

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path) if self.path else None, "sha256": self.sha256,
                "file_size": self.file_size, "inputs": list(self.inputs), "outputs": list(self.outputs),
                "tensors": [t.to_json() for t in self.tensors],
                "operators": [o.to_json() for o in self.operators]}


# --- parsing -------------------------------------------------------------------------------------------

_MAX_FILE = 1 << 31


def load(path: str | Path) -> Graph:
    """Read and parse a .tflite file; every problem is a one-line ModelError naming the file."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, not a .tflite file; pass the model file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return parse(data, path=path)


def parse(data: bytes, path: str | Path | None = None, name: str | None = None, main_only: bool = False) -> Graph:
    """Parse TFLite flatbuffer bytes into a Graph. ``main_only``: a model with control flow (several
    subgraphs) gives its main subgraph, with ``subgraph_count`` saying how many there are (the compatibility
    report names the WHILE op instead of refusing the file)."""
    where = str(path) if path is not None else (name or "<model bytes>")
    data = bytes(data)
    if len(data) < 16:
        raise ModelError(f"{where}: file is {len(data)} bytes, too short to be a TFLite model "
                         "(truncated?); re-export it")
    if len(data) > _MAX_FILE:
        raise ModelError(f"{where}: larger than 2 GiB; not a model for a microcontroller")
    if data[4:8] != b"TFL3":
        hint = ""
        if data[:2] == b"PK" or data[:4] == b"\x89HDF":
            hint = " (looks like a Keras file: run `tinyc build` or convert it first)"
        raise ModelError(f"{where}: not a TFLite flatbuffer (no 'TFL3' identifier){hint}; "
                         "pass a .tflite file")
    try:
        g = _parse(data, where, path, name, main_only)
        from tinyc.model.fold import fold

        g = fold(g)  # shape arithmetic of a dynamic batch: constants before any stage reads the graph
        # Every table of the file must be readable, not only those tinyc uses: TFLite Micro's Python interpreter
        # unpacks them all (signatures, metadata), and a damaged offset there would crash it.
        schema().ModelT.InitFromPackedBuf(data, 0)
        return g
    except TinycError:
        raise
    except RecursionError:
        raise ModelError(f"{where}: corrupt TFLite file (nested too deeply); re-export the model") from None
    except struct.error:  # the flatbuffer reader followed an offset outside the file
        raise ModelError(f"{where}: corrupt or truncated TFLite file (an offset points outside its {len(data):,} "
                         "bytes); re-export the model") from None
    except Exception as exc:  # noqa: BLE001 - any failure inside the flatbuffer means a damaged file
        raise ModelError(f"{where}: corrupt or truncated TFLite file ({type(exc).__name__}: "
                         f"{_short(exc)}); re-export the model") from None


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:80]


def _check_len(n: int, limit: int, what: str, where: str) -> int:
    if n < 0 or n > limit:
        raise ModelError(f"{where}: corrupt TFLite file ({what} count {n} is impossible); re-export the model")
    return n


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _options(op, tables) -> tuple[dict[str, Any], str]:
    """The operator's builtin options as a dict, and the name of their table ("" when it has none)."""
    s = schema()
    obj = None
    kind = ""
    t = op.BuiltinOptionsType()
    if t:
        table = op.BuiltinOptions()
        if table is not None:
            obj = s.BuiltinOptionsCreator(t, table)
            kind = tables["options"].get(t, f"options{t}")
    else:
        t2 = op.BuiltinOptions2Type()
        if t2:
            table = op.BuiltinOptions2()
            if table is not None:
                obj = s.BuiltinOptions2Creator(t2, table)
                kind = tables["options2"].get(t2, f"options2_{t2}")
    if obj is None:
        return {}, ""
    out: dict[str, Any] = {}
    for key, value in vars(obj).items():
        k = _snake(key)
        if k == "padding":
            value = tables["padding"].get(value, str(value))
        elif k in ("fused_activation_function", "activation"):
            value = tables["activation"].get(value, str(value))
        elif isinstance(value, np.ndarray):
            value = [v.item() for v in value]
        elif isinstance(value, list):
            value = [v.item() if hasattr(v, "item") else v for v in value]
        elif isinstance(value, (np.integer, np.floating, np.bool_)):
            value = value.item()
        elif value is not None and not isinstance(value, (int, float, str, bool)):
            continue  # nested tables (rare, not used by MCU kernels)
        out[k] = value
    return out, kind


def _parse(data: bytes, where: str, path, name, main_only: bool = False) -> Graph:
    s = schema()
    tables = _tables()
    limit = len(data) // 4
    model = s.Model.GetRootAs(data, 0)
    version = model.Version()
    n_sub = _check_len(model.SubgraphsLength(), limit, "subgraph", where)
    if n_sub == 0:
        raise ModelError(f"{where}: the model has no subgraph; re-export it")
    if n_sub > 1 and not main_only:
        raise ModelError(f"{where}: the model has {n_sub} subgraphs (control flow such as WHILE/IF); "
                         "tinyc runs single-subgraph models: remove control flow before converting")
    sub = model.Subgraphs(0)

    n_codes = _check_len(model.OperatorCodesLength(), limit, "operator code", where)
    codes = []
    for i in range(n_codes):
        c = model.OperatorCodes(i)
        code = max(int(c.BuiltinCode()), int(c.DeprecatedBuiltinCode()))
        op_name = tables["op"].get(code, f"BUILTIN_{code}")
        if op_name == "CUSTOM":
            custom = c.CustomCode()
            op_name = "CUSTOM:" + (custom.decode("utf-8", "replace") if custom else "?")
        codes.append((op_name, max(1, int(c.Version()))))

    n_buf = _check_len(model.BuffersLength(), limit, "buffer", where)

    def buffer_bytes(bi: int) -> bytes | None:
        if bi <= 0 or bi >= n_buf:
            return None
        b = model.Buffers(bi)
        off, size = int(b.Offset()), int(b.Size())
        if off > 1:  # large models keep buffers after the flatbuffer
            if off + size > len(data):
                raise ModelError(f"{where}: buffer {bi} points past the end of the file (truncated?); "
                                 "re-export the model")
            return data[off:off + size]
        if b.DataIsNone() or b.DataLength() == 0:
            return None
        arr = b.DataAsNumpy()
        return arr.tobytes()

    tensors = []
    n_t = _check_len(sub.TensorsLength(), limit, "tensor", where)
    for i in range(n_t):
        t = sub.Tensors(i)
        dtype = tables["dtype"].get(t.Type(), f"type{t.Type()}")
        shape = tuple(int(x) for x in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        sig = tuple(int(x) for x in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else ()
        q = t.Quantization()
        quant = Quantization()
        if q is not None:
            scales = tuple(float(x) for x in q.ScaleAsNumpy()) if q.ScaleLength() else ()
            zps = tuple(int(x) for x in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else ()
            quant = Quantization(scales, zps, int(q.QuantizedDimension()))
        raw = buffer_bytes(int(t.Buffer()))
        arr = None
        if raw is not None:
            npd = NUMPY_DTYPES.get(dtype)
            if npd is not None:
                count = 1
                for d in shape:
                    count *= max(d, 0)
                arr = np.frombuffer(raw, dtype=npd)
                if arr.size == count:
                    arr = arr.reshape(shape)
                arr.flags.writeable = False
            else:
                arr = np.frombuffer(raw, dtype=np.uint8)
        tname = t.Name()
        tensors.append(Tensor(
            index=i, name=tname.decode("utf-8", "replace") if tname else f"tensor_{i}", shape=shape,
            dtype=dtype, quantization=quant, is_constant=arr is not None, data=arr,
            is_variable=bool(t.IsVariable()), shape_signature=sig, buffer=int(t.Buffer()),
        ))

    def idx_list(values, what) -> tuple[int, ...]:
        out = tuple(int(x) for x in values)
        for x in out:
            if x < -1 or x >= n_t:
                raise ModelError(f"{where}: corrupt TFLite file ({what} refers to tensor {x} of {n_t}); "
                                 "re-export the model")
        return out

    operators = []
    n_ops = _check_len(sub.OperatorsLength(), limit, "operator", where)
    for i in range(n_ops):
        o = sub.Operators(i)
        ci = int(o.OpcodeIndex())
        if ci >= len(codes):
            raise ModelError(f"{where}: corrupt TFLite file (operator {i} uses opcode {ci} of {len(codes)}); "
                             "re-export the model")
        op_name, ver = codes[ci]
        options, options_type = _options(o, tables)
        operators.append(Operator(
            index=i, op=op_name, version=ver,
            inputs=idx_list(o.InputsAsNumpy() if o.InputsLength() else (), f"operator {i} input"),
            outputs=idx_list(o.OutputsAsNumpy() if o.OutputsLength() else (), f"operator {i} output"),
            options=options,
            intermediates=idx_list(o.IntermediatesAsNumpy() if o.IntermediatesLength() else (),
                                   f"operator {i} intermediate"),
            options_type=options_type,
        ))
    inputs = idx_list(sub.InputsAsNumpy() if sub.InputsLength() else (), "subgraph input")
    outputs = idx_list(sub.OutputsAsNumpy() if sub.OutputsLength() else (), "subgraph output")
    desc = model.Description()
    sname = sub.Name()
    gname = name or (Path(path).stem if path is not None else (sname.decode("utf-8", "replace") if sname else "model"))
    if len(gname) > 120:  # a subgraph name of thousands of characters ends up in generated C and messages
        gname = gname[:117] + "..."
    return Graph(
        name=gname, path=Path(path) if path is not None else None, sha256=hashlib.sha256(data).hexdigest(),
        tensors=tuple(tensors), operators=tuple(operators), inputs=inputs, outputs=outputs,
        file_size=len(data), schema_version=int(version),
        description=desc.decode("utf-8", "replace") if desc else "", subgraph_count=n_sub, buffer_count=n_buf,
    )
