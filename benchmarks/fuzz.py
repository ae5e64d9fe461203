"""Fuzz tinyc with hostile models, board files and data files (issue 19), from a fixed seed.

Models: mutations of every zoo model (``tinyc.zoo.names()``) and of ../shared/models at the flatbuffer level
(the schema's object API: ModelT, packed again) and at the byte level, plus crafted models (inconsistent
shapes, huge dimensions, hostile names, cycles, bad options). Each goes through the parser, the verifier
and ``tinyc check`` and ``tinyc generate`` in process; a sample runs the CLI as subprocesses (inspect,
check, generate), accepted models run on the host with AddressSanitizer (each tensor's neighbours
poisoned during every kernel call: tinyc.codegen.host) against TFLite Micro (run in a child process, so a
crash there is a counted outcome, never the fuzzer's), and a sample is built and run in QEMU.
Board files: mutated TOML through ``tinyc.boards.load_board`` and, when accepted, a check and a project.
Data files: crafted .npz/.npy through optimize's and validate's readers.

A failure is a traceback, a signal, a hang, an ASan/UBSan report, an accepted model whose firmware
faults (or differs from TFLite Micro), or an exit code outside 0-3. The summary table (counts per
outcome) is printed and written to benchmarks/results/fuzz.md.

    .venv/bin/python benchmarks/fuzz.py                      # the committed run (seed 19)
    .venv/bin/python benchmarks/fuzz.py --models 200 --cli 20 --asan 3 --qemu 0 --boards 100 --data 100
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import math
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 19
RESULTS = ROOT / "benchmarks" / "results" / "fuzz.md"
BOARDS = ("mps2-an500", "mps3-an547", "mps2-an385", "bluepill")  # M7 DSP, M55 Helium, M3 portable, 20 KiB SRAM
HOSTILE_NAMES = (
    "a" * 5000, "x\ny", "*/ #include <stdio.h> /*", "\"; system(\"rm -rf /\"); \"", "%s%s%n", "\x00\x01\x1b[31m",
    "ünïcødé ☃ 名前", "../../etc/passwd", "\\", "${HOME}", "'", "\u202eevil", "tab\tbed", "",
)


# --- outcomes --------------------------------------------------------------------------------------------

@dataclass
class Tally:
    """Counts per (section, outcome), and the failures' details."""

    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    times: dict = field(default_factory=dict)
    examples: dict = field(default_factory=dict)  # (section, outcome) -> the first detail seen

    def add(self, section: str, outcome: str, detail: str = "") -> None:
        self.counts[(section, outcome)] += 1
        self.examples.setdefault((section, outcome), detail)
        if outcome in FAILURES:
            self.failures.append(f"{section}: {outcome}: {detail}"[:2000])


# What each stage may answer; anything in FAILURES fails the run.
FAILURES = ("traceback", "signal", "hang", "asan report", "firmware fault", "differs from TFLM", "bad exit code",
            "not one line", "reference crash", "wraps", "crafted model accepted", "host build failed")


class Hang(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds: float):
    def on_alarm(signum, frame):
        raise Hang()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# --- model sources ---------------------------------------------------------------------------------------

def shared_models_dir() -> Path:
    return Path(os.environ.get("TINYC_TRAINED_MODELS") or ROOT.parent / "shared" / "models")


def seed_models() -> list[tuple[str, bytes]]:
    """Every zoo model and every .tflite of ../shared/models, as (name, bytes)."""
    from tinyc import zoo

    out = [(n, zoo.build(n).read_bytes()) for n in zoo.names()]
    d = shared_models_dir()
    if d.is_dir():
        out += [(p.stem, p.read_bytes()) for p in sorted(d.glob("*.tflite"))]
    return out


def _schema():
    from tinyc.model.graph import schema

    return schema()


def unpack(data: bytes):
    return _schema().ModelT.InitFromPackedBuf(data, 0)


def pack(model) -> bytes:
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _enum_values(cls) -> list[int]:
    return sorted(v for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int))


def _i32(v: int) -> int:
    return max(-(1 << 31), min((1 << 31) - 1, int(v)))


# --- flatbuffer-level mutations (rng, ModelT) -> what was done ---------------------------------------------

def _sub(m):
    return m.subgraphs[0]


def _tensor(rng, m):
    ts = _sub(m).tensors or []
    if not ts:
        raise LookupError("no tensors")
    i = rng.randrange(len(ts))
    return i, ts[i]


def _op(rng, m):
    ops = _sub(m).operators or []
    if not ops:
        raise LookupError("no operators")
    i = rng.randrange(len(ops))
    return i, ops[i]


def mut_dim(rng, m):
    i, t = _tensor(rng, m)
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    if not shape:
        t.shape = [rng.choice([1, 2, 40])]
        return f"tensor {i} scalar -> {t.shape}"
    k = rng.randrange(len(shape))
    old = shape[k]
    shape[k] = _i32(rng.choice([0, 1, old + 1, max(old - 1, 0), old * 2, old * 4, (1 << 31) - 1, 1 << 20, -1, -7,
                                 rng.randint(1, 4096), 65536]))
    t.shape = shape
    return f"tensor {i} dim {k} {old} -> {shape[k]}"


def mut_rank(rng, m):
    i, t = _tensor(rng, m)
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    choice = rng.randrange(6)
    if choice == 0 and shape:
        shape.pop(rng.randrange(len(shape)))
    elif choice == 1:
        shape.insert(rng.randrange(len(shape) + 1), rng.choice([1, 2, 3]))
    elif choice == 2:
        shape = [1] * 8
    elif choice == 3:
        shape = [1 << 20, 1 << 20]  # 2^40 elements
    elif choice == 4:
        shape = [2, 1 << 30]  # 2^31 elements
    else:
        shape = []
    t.shape = shape
    return f"tensor {i} shape -> {shape}"


def mut_dtype(rng, m):
    i, t = _tensor(rng, m)
    old = t.type
    t.type = rng.choice(_enum_values(_schema().TensorType) + [99, 250])
    return f"tensor {i} type {old} -> {t.type}"


def _quant(t):
    q = t.quantization
    if q is None:
        q = _schema().QuantizationParametersT()
        t.quantization = q
    return q


def mut_scale(rng, m):
    i, t = _tensor(rng, m)
    q = _quant(t)
    scales = [float(s) for s in (q.scale if q.scale is not None else [])] or [0.01]
    k = rng.randrange(len(scales))
    s = scales[k]
    scales[k] = rng.choice([math.nan, math.inf, -math.inf, 0.0, -s, 1e-40, 1e-35, 3e38, s * 1e6, s * 1e-6, s * 2,
                            s * 0.5, s * 1.01, 1.0 / 256, 1e-12])
    q.scale = scales
    return f"tensor {i} scale[{k}] {s:.3g} -> {scales[k]:.3g}"


def mut_zero_point(rng, m):
    i, t = _tensor(rng, m)
    q = _quant(t)
    zps = [int(z) for z in (q.zeroPoint if q.zeroPoint is not None else [])] or [0]
    k = rng.randrange(len(zps))
    old = zps[k]
    zps[k] = rng.choice([200, -300, (1 << 31) - 1, old + 1, old - 1, -128, 127, 0, 1])
    q.zeroPoint = zps
    return f"tensor {i} zero_point[{k}] {old} -> {zps[k]}"


def mut_quant_arrays(rng, m):
    i, t = _tensor(rng, m)
    q = _quant(t)
    choice = rng.randrange(6)
    if choice == 0:
        q.zeroPoint = None
    elif choice == 1:
        q.scale = None
    elif choice == 2:
        q.scale = list(q.scale if q.scale is not None else []) + [0.01]
    elif choice == 3:
        q.quantizedDimension = rng.choice([1, 2, 3, 7, -1, 100])
    elif choice == 4:
        t.quantization = None
    else:
        n = rng.choice([2, 3, 7, 64])
        q.scale, q.zeroPoint = [0.01] * n, [0] * n
    return f"tensor {i} quantization arrays change {choice}"


def _buffer(rng, m):
    bs = [b for b in (m.buffers or []) if b.data is not None and len(b.data)]
    if not bs:
        raise LookupError("no data buffers")
    return rng.choice(bs)


def mut_buffer_data(rng, m):
    b = _buffer(rng, m)
    data = np.asarray(b.data, dtype=np.uint8).copy()
    choice = rng.randrange(6)
    if choice == 0:
        b.data = data[: rng.randrange(len(data))]
    elif choice == 1:
        b.data = np.concatenate([data, np.zeros(rng.choice([1, 3, 64]), np.uint8)])
    elif choice == 2:
        b.data = None
    elif choice == 3:
        nrng = np.random.default_rng(rng.randrange(1 << 30))
        b.data = nrng.integers(0, 256, len(data), dtype=np.uint8)
    elif choice == 4:
        b.data = np.full(len(data), rng.choice([0x7F, 0x80, 0xFF]), np.uint8)
    else:
        k = rng.randrange(len(data))
        data[k] ^= 1 << rng.randrange(8)
        b.data = data
    return f"buffer data change {choice}"


def mut_buffer_index(rng, m):
    i, t = _tensor(rng, m)
    old = t.buffer
    t.buffer = rng.choice([0, len(m.buffers or []) + 5, rng.randrange(max(len(m.buffers or []), 1)), (1 << 32) - 1])
    return f"tensor {i} buffer {old} -> {t.buffer}"


def mut_op_input(rng, m):
    j, op = _op(rng, m)
    ins = [int(x) for x in (op.inputs if op.inputs is not None else [])]
    n = len(_sub(m).tensors or [])
    if not ins:
        ins = [0]
    k = rng.randrange(len(ins))
    old = ins[k]
    outs = [int(x) for x in (op.outputs if op.outputs is not None else [])]
    ins[k] = rng.choice([-1, n + 3, rng.randrange(max(n, 1)), outs[0] if outs else 0, -5])
    op.inputs = ins
    return f"op {j} input {k} {old} -> {ins[k]}"


def mut_op_output(rng, m):
    j, op = _op(rng, m)
    outs = [int(x) for x in (op.outputs if op.outputs is not None else [])] or [0]
    ins = [int(x) for x in (op.inputs if op.inputs is not None else [])]
    n = len(_sub(m).tensors or [])
    old = outs[0]
    outs[0] = rng.choice([-1, n + 1, rng.randrange(max(n, 1)), ins[0] if ins else 0])
    op.outputs = outs
    return f"op {j} output {old} -> {outs[0]}"


def mut_op_arity(rng, m):
    j, op = _op(rng, m)
    ins = [int(x) for x in (op.inputs if op.inputs is not None else [])]
    choice = rng.randrange(4)
    if choice == 0 and ins:
        ins.pop()
    elif choice == 1:
        ins.append(rng.choice([-1, 0]))
    elif choice == 2:
        op.outputs = list(op.outputs if op.outputs is not None else []) + [0]
    else:
        op.outputs = []
    op.inputs = ins
    return f"op {j} arity change {choice}"


def mut_opcode(rng, m):
    s = _schema()
    choice = rng.randrange(4)
    if choice == 0:
        j, op = _op(rng, m)
        op.opcodeIndex = rng.choice([len(m.operatorCodes or []) + 1, rng.randrange(max(len(m.operatorCodes or []), 1))])
        return f"op {j} opcode index -> {op.opcodeIndex}"
    codes = m.operatorCodes or []
    if not codes:
        raise LookupError("no operator codes")
    c = rng.choice(codes)
    if choice == 1:
        names = ["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX", "RESHAPE", "ADD", "MUL", "PAD",
                 "MEAN", "CONCATENATION", "AVERAGE_POOL_2D", "MAX_POOL_2D", "LOGISTIC", "RELU", "RELU6", "QUANTIZE",
                 "DEQUANTIZE", "TANH", "SUB"]
        code = getattr(s.BuiltinOperator, rng.choice(names))
        c.builtinCode = code
        c.deprecatedBuiltinCode = min(code, 127)
        return f"opcode -> {code}"
    if choice == 2:
        c.version = rng.choice([0, 2, 5, 99])
        return f"opcode version -> {c.version}"
    c.builtinCode = rng.choice([32, 500, 1000])
    c.deprecatedBuiltinCode = min(c.builtinCode, 127)
    c.customCode = b"Evil\x00\n"
    return f"opcode -> builtin {c.builtinCode}"


def mut_options(rng, m):
    j, op = _op(rng, m)
    o = op.builtinOptions
    choice = rng.randrange(4)
    if choice == 0 or o is None:
        op.builtinOptionsType, op.builtinOptions = 0, None
        return f"op {j} options removed"
    if choice == 1:
        others = [x for x in (_sub(m).operators or []) if x.builtinOptions is not None and x is not op]
        if others:
            src = rng.choice(others)
            op.builtinOptionsType, op.builtinOptions = src.builtinOptionsType, copy.deepcopy(src.builtinOptions)
            return f"op {j} options from another op"
    keys = [k for k, v in vars(o).items() if isinstance(v, (int, float, bool))]
    if not keys:
        op.builtinOptionsType, op.builtinOptions = 0, None
        return f"op {j} options removed"
    k = rng.choice(keys)
    old = getattr(o, k)
    if isinstance(old, bool):
        new = not old
    elif isinstance(old, float):
        new = rng.choice([0.0, -1.0, math.nan, math.inf, 1e-30, 1e30, 2.0])
    else:
        new = rng.choice([0, -1, 2, 3, 7, 100, 127, (1 << 31) - 1, -(1 << 31)])
        if k in ("padding", "fusedActivationFunction", "weightsFormat", "quantizedBiasType"):
            new = rng.choice([0, 1, 2, 3, 4, 5, 9, 100])
            new = min(new, 127)
    setattr(o, k, new)
    return f"op {j} option {k} {old!r} -> {new!r}"


def mut_io(rng, m):
    sub = _sub(m)
    n = len(sub.tensors or [])
    which = rng.choice(["inputs", "outputs"])
    cur = [int(x) for x in (getattr(sub, which) if getattr(sub, which) is not None else [])]
    choice = rng.randrange(5)
    if choice == 0:
        cur = []
    elif choice == 1 and cur:
        cur = cur + [cur[0]]
    elif choice == 2:
        cur = [-1]
    elif choice == 3:
        cur = [n + 2]
    else:
        cur = [rng.randrange(max(n, 1))]
    setattr(sub, which, cur)
    return f"graph {which} -> {cur}"


def mut_name(rng, m):
    name = rng.choice(HOSTILE_NAMES).encode("utf-8", "surrogatepass")
    choice = rng.randrange(3)
    if choice == 0:
        i, t = _tensor(rng, m)
        t.name = name
        return f"tensor {i} hostile name"
    if choice == 1:
        _sub(m).name = name
        return "subgraph hostile name"
    m.description = name
    return "hostile description"


def mut_order(rng, m):
    ops = _sub(m).operators or []
    if len(ops) < 2:
        raise LookupError("one operator")
    if rng.random() < 0.5:
        a, b = rng.sample(range(len(ops)), 2)
        ops[a], ops[b] = ops[b], ops[a]
        return f"ops {a} and {b} swapped"
    k = rng.randrange(len(ops))
    ops.insert(rng.randrange(len(ops) + 1), copy.deepcopy(ops[k]))
    return f"op {k} duplicated"


def mut_subgraphs(rng, m):
    if rng.random() < 0.5:
        m.subgraphs = list(m.subgraphs) + [copy.deepcopy(m.subgraphs[0])]
        return "second subgraph"
    m.subgraphs = []
    return "no subgraph"


def mut_weights_values(rng, m):
    """A consistent change: new weight values of the same size (the model stays valid)."""
    sub = _sub(m)
    cands = [t for t in (sub.tensors or []) if t.buffer and t.buffer < len(m.buffers or [])
             and m.buffers[t.buffer].data is not None and t.type == _schema().TensorType.INT8]
    if not cands:
        raise LookupError("no int8 constants")
    t = rng.choice(cands)
    b = m.buffers[t.buffer]
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    lo, hi = rng.choice([(-128, 128), (-127, 128), (-3, 4), (0, 1), (127, 128)])
    b.data = nrng.integers(lo, hi, len(b.data)).astype(np.int8).view(np.uint8)
    return f"tensor weights values in [{lo}, {hi})"


def mut_scale_consistent(rng, m):
    """A plausible change: an activation scale or zero point moved a little (still a valid model)."""
    i, t = _tensor(rng, m)
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) != 1:
        raise LookupError("not per-tensor")
    if rng.random() < 0.5:
        q.scale = [float(q.scale[0]) * rng.choice([0.25, 0.5, 0.9, 1.1, 2.0, 4.0])]
    elif t.type == _schema().TensorType.INT8 and q.zeroPoint is not None:
        q.zeroPoint = [int(np.clip(int(q.zeroPoint[0]) + rng.randint(-40, 40), -128, 127))]
    return f"tensor {i} quantization moved"


MUTATORS = (
    (mut_dim, 8), (mut_rank, 4), (mut_dtype, 4), (mut_scale, 5), (mut_zero_point, 4), (mut_quant_arrays, 4),
    (mut_buffer_data, 5), (mut_buffer_index, 3), (mut_op_input, 5), (mut_op_output, 3), (mut_op_arity, 3),
    (mut_opcode, 3), (mut_options, 6), (mut_io, 3), (mut_name, 3), (mut_order, 2), (mut_subgraphs, 1),
    (mut_weights_values, 8), (mut_scale_consistent, 8),
)


def mutate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """1-3 flatbuffer-level mutations of ``data`` (a .tflite)."""
    fns, weights = zip(*MUTATORS)
    for _ in range(20):
        m = unpack(data)
        done = []
        try:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                fn = rng.choices(fns, weights)[0]
                done.append(fn(rng, m))
            return pack(m), "; ".join(done)
        except (LookupError, struct.error, OverflowError, TypeError, ValueError, AttributeError, IndexError):
            continue  # this mutation cannot be written back: draw another
    return data, "unchanged"


def flip_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    b = bytearray(data)
    choice = rng.randrange(4)
    if choice == 0:
        n = rng.choice([1, 2, 4, 8, 32])
        for _ in range(n):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b), f"{n} bit flips"
    if choice == 1:
        k = rng.randrange(len(b))
        return bytes(b[:k]), f"truncated at {k}"
    if choice == 2:
        k = rng.randrange(8, len(b)) if len(b) > 8 else 0
        b[k:k + 4] = rng.choice([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"])
        return bytes(b), f"int32 at {k} overwritten"
    k = rng.randrange(len(b))
    return bytes(b[:k]) + bytes(rng.randrange(256) for _ in range(rng.choice([1, 16, 256]))) + bytes(b[k:]), \
        f"bytes inserted at {k}"


# --- crafted models ----------------------------------------------------------------------------------------

def _model_of(seeds: dict[str, bytes], name: str):
    return unpack(seeds[name])


def _op_named(m, op_name: str):
    s = _schema()
    code = getattr(s.BuiltinOperator, op_name)
    for op in _sub(m).operators:
        c = m.operatorCodes[op.opcodeIndex]
        if max(c.builtinCode, c.deprecatedBuiltinCode) == code:
            return op
    raise LookupError(op_name)


def crafted(seeds: dict[str, bytes]) -> list[tuple[str, bytes, str]]:
    """Deterministic hostile models: (name, bytes, what the verifier must name in its line)."""
    out = []

    def add(name, m, expect):
        out.append((name, pack(m), expect))

    # FULLY_CONNECTED weights [units, depth] disagreeing with the output (the 32,896-byte write).
    m = _model_of(seeds, "fc_odd")
    op = _op_named(m, "FULLY_CONNECTED")
    y = _sub(m).tensors[op.outputs[0]]
    y.shape = [int(y.shape[0]), int(y.shape[-1]) + 5]
    add("fc output wider than its weights", m, "FULLY_CONNECTED")
    # SOFTMAX 1x40 in, 1x10 out.
    m = _model_of(seeds, "softmax")
    op = _op_named(m, "SOFTMAX")
    ts = _sub(m).tensors
    ts[op.inputs[0]].shape = [1, 40]
    ts[op.outputs[0]].shape = [1, 10]
    add("softmax 1x40 -> 1x10", m, "SOFTMAX")
    # CONV_2D whose weights' depth does not divide the input channels (the SIGFPE).
    m = _model_of(seeds, "conv_same_s1")
    op = _op_named(m, "CONV_2D")
    w = _sub(m).tensors[op.inputs[1]]
    oc, kh, kw, ic = (int(d) for d in w.shape)
    w.shape = [oc, kh, kw, ic + 1]
    m.buffers[w.buffer].data = np.zeros(oc * kh * kw * (ic + 1), np.uint8)
    add("conv weights depth not dividing the input", m, "CONV_2D")
    m = _model_of(seeds, "conv_same_s1")
    op = _op_named(m, "CONV_2D")
    w = _sub(m).tensors[op.inputs[1]]
    w.shape = [int(w.shape[0]), int(w.shape[1]), int(w.shape[2]), 0]
    add("conv weights of depth 0", m, "empty dimension")
    # Huge shapes: weights of 2^40 elements, a dimension of 2^31-1, rank 8, a 2^31-element activation.
    for label, shape in (("weights of 2^40 elements", [1 << 20, 1 << 20]), ("weights dim 2^31-1", [(1 << 31) - 1, 4]),
                         ("weights rank 8", [1] * 8)):
        m = _model_of(seeds, "fc_odd")
        op = _op_named(m, "FULLY_CONNECTED")
        _sub(m).tensors[op.inputs[1]].shape = shape
        add(label, m, "")
    m = _model_of(seeds, "relu")
    op = _op_named(m, "RELU")
    for i in (op.inputs[0], op.outputs[0]):
        _sub(m).tensors[i].shape = [2, 1 << 30]
    add("2^31-element activations", m, "2 GiB")
    # A cycle: an operator reading its own output.
    m = _model_of(seeds, "relu")
    op = _op_named(m, "RELU")
    op.inputs = [op.outputs[0]]
    add("operator reading its own output", m, "RELU")
    # Two operators writing one tensor, operators out of order.
    m = _model_of(seeds, "reshape")
    ops = _sub(m).operators
    ops[0], ops[-1] = ops[-1], ops[0]
    add("operators out of order", m, "before op")
    # Options: stride 0, no options at all, SOFTMAX beta 0, a padding the schema does not define.
    m = _model_of(seeds, "conv_same_s1")
    _op_named(m, "CONV_2D").builtinOptions.strideH = 0
    add("conv stride 0", m, "stride_h")
    # The fuzz run's find: a dilation of 2^31-1 on a SAME window (the padding overflowed 32 bits).
    m = _model_of(seeds, "conv_same_s1")
    _op_named(m, "CONV_2D").builtinOptions.dilationHFactor = (1 << 31) - 1
    add("conv dilation 2^31-1", m, "32-bit index")
    m = _model_of(seeds, "maxpool_valid")
    op = _op_named(m, "MAX_POOL_2D")
    op.builtinOptionsType, op.builtinOptions = 0, None
    add("pool without options", m, "MAX_POOL_2D")
    m = _model_of(seeds, "softmax")
    _op_named(m, "SOFTMAX").builtinOptions.beta = 0.0
    add("softmax beta 0", m, "beta")
    m = _model_of(seeds, "conv_same_s1")
    _op_named(m, "CONV_2D").builtinOptions.padding = 7
    add("padding 7", m, "padding")
    # Quantization: NaN scale, per-channel arrays one short, zero points missing.
    m = _model_of(seeds, "conv_same_s1")
    w = _sub(m).tensors[_op_named(m, "CONV_2D").inputs[1]]
    w.quantization.scale = [math.nan] + list(w.quantization.scale[1:])
    add("NaN weight scale", m, "scale")
    m = _model_of(seeds, "conv_same_s1")
    w = _sub(m).tensors[_op_named(m, "CONV_2D").inputs[1]]
    w.quantization.scale = list(w.quantization.scale[:-1])
    w.quantization.zeroPoint = list(w.quantization.zeroPoint[:-1])
    add("per-channel scales one short", m, "scales")
    m = _model_of(seeds, "add_two")
    _sub(m).tensors[_op_named(m, "ADD").outputs[0]].quantization.zeroPoint = None
    add("output without zero point", m, "zero point")
    # A constant buffer shorter than its tensor.
    m = _model_of(seeds, "fc_odd")
    w = _sub(m).tensors[_op_named(m, "FULLY_CONNECTED").inputs[1]]
    m.buffers[w.buffer].data = np.asarray(m.buffers[w.buffer].data)[:-7]
    add("weights buffer 7 bytes short", m, "buffer")
    # Bias of the wrong length (read past the end of a flash array).
    m = _model_of(seeds, "fc_odd")
    b = _sub(m).tensors[_op_named(m, "FULLY_CONNECTED").inputs[2]]
    b.shape = [int(b.shape[0]) - 1]
    m.buffers[b.buffer].data = np.asarray(m.buffers[b.buffer].data)[:-4]
    b.quantization.scale = list(b.quantization.scale[:-1]) if len(b.quantization.scale) > 1 else b.quantization.scale
    b.quantization.zeroPoint = list(b.quantization.zeroPoint[:len(b.quantization.scale)])
    add("bias one short", m, "bias")
    # MEAN over an axis the input does not have; PAD with negative paddings; CONCAT not adding up.
    m = _model_of(seeds, "mean_hw")
    a = _sub(m).tensors[_op_named(m, "MEAN").inputs[1]]
    m.buffers[a.buffer].data = np.asarray([7, 0, 0, 0] * (len(m.buffers[a.buffer].data) // 4), np.uint8)
    add("mean axis 7", m, "axes")
    m = _model_of(seeds, "pad")
    p = _sub(m).tensors[_op_named(m, "PAD").inputs[1]]
    m.buffers[p.buffer].data = np.full(len(m.buffers[p.buffer].data), 0xFF, np.uint8)
    add("negative paddings", m, "paddings")
    m = _model_of(seeds, "concat")
    y = _sub(m).tensors[_op_named(m, "CONCATENATION").outputs[0]]
    y.shape = [int(d) for d in y.shape[:-1]] + [int(y.shape[-1]) + 3]
    add("concat output too wide", m, "CONCATENATION")
    # ADD whose output scale makes TFLite's output multiplier exceed one; accumulators overflowing int32.
    m = _model_of(seeds, "add_two")
    _sub(m).tensors[_op_named(m, "ADD").outputs[0]].quantization.scale = [1e-9]
    add("add output scale 1e-9", m, "ADD")
    m = _model_of(seeds, "ad_autoencoder")
    op = _op_named(m, "FULLY_CONNECTED")
    w = _sub(m).tensors[op.inputs[1]]
    m.buffers[w.buffer].data = np.full(len(m.buffers[w.buffer].data), 0x80, np.uint8)
    b = _sub(m).tensors[op.inputs[2]]
    m.buffers[b.buffer].data = np.frombuffer(np.full(len(m.buffers[b.buffer].data) // 4, (1 << 31) - 1, np.int32)
                                             .tobytes(), np.uint8)
    add("accumulator overflow", m, "accumulator")
    # What TFLite Micro refused or crashed on while tinyc accepted it (the fuzzer's finds): a buffer index past
    # the buffers (segfault), a bias type TFLite does not know, a fused RELU6 whose 6.0 overflows int32 in the
    # output scale, a per-tensor FC bias scale far from input x weight scale, MEAN over five axes.
    m = _model_of(seeds, "add_two")
    _sub(m).tensors[_op_named(m, "ADD").inputs[1]].buffer = (1 << 32) - 1
    add("buffer index past the buffers", m, "referring to buffer 4294967295")
    m = _model_of(seeds, "conv_same_s1")
    _op_named(m, "CONV_2D").builtinOptions.quantizedBiasType = 100
    add("quantized_bias_type 100", m, "quantized_bias_type")
    m = _model_of(seeds, "conv_dilated_relu6")
    _sub(m).tensors[_op_named(m, "CONV_2D").outputs[0]].quantization.scale = [1e-12]
    add("fused RELU6 beyond int32", m, "overflows 32 bits")
    if "hello_world_int8" in seeds:
        m = _model_of(seeds, "hello_world_int8")
        op = _sub(m).operators[-1]
        b = _sub(m).tensors[op.inputs[2]]
        b.quantization.scale = [float(b.quantization.scale[0]) * 1e-6]
        add("FC bias scale off", m, "within 2% of the output scale")
    m = _model_of(seeds, "mean_hw")
    a = _sub(m).tensors[_op_named(m, "MEAN").inputs[1]]
    a.shape = [5]
    m.buffers[a.buffer].data = np.asarray([1, 2, 1, 2, 1], np.int32).view(np.uint8)
    add("mean over five axes", m, "at most 4")
    m = _model_of(seeds, "dwconv_5x5_relu6")
    op = _op_named(m, "DEPTHWISE_CONV_2D")
    op.inputs = [int(op.inputs[0]), int(op.inputs[1]), -1]
    add("depthwise without bias", m, "has no bias")
    # Hostile names on a valid model: accepted, and the generated C still compiles.
    m = _model_of(seeds, "fc_odd")
    for k, t in enumerate(_sub(m).tensors):
        t.name = HOSTILE_NAMES[k % len(HOSTILE_NAMES)].encode("utf-8")
    _sub(m).name = (HOSTILE_NAMES[0] + HOSTILE_NAMES[2]).encode()
    m.description = HOSTILE_NAMES[1].encode()
    add("hostile names", m, None)
    return out


# --- the in-process stage ----------------------------------------------------------------------------------

@dataclass
class Verdict:
    outcome: str  # refused, does not fit, not implemented, accepted, or a failure
    detail: str = ""
    exit_code: int | None = None


def classify_exception(exc: BaseException) -> Verdict:
    from tinyc.errors import TinycError

    if isinstance(exc, Hang):
        return Verdict("hang", "")
    if isinstance(exc, TinycError):
        from tinyc.ui import printable

        text = printable(exc)  # as the CLI prints it
        if "\n" in text or not text:
            return Verdict("not one line", text[:300])
        kind = {1: "does not fit", 2: "refused", 3: "not implemented"}.get(exc.exit_code, "bad exit code")
        return Verdict(kind, text[:300], exc.exit_code)
    return Verdict("traceback", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-1500:])


def in_process(data: bytes, name: str, board_id: str, out_dir: Path, timeout: float = 60.0) -> Verdict:
    """parse -> verifier/compatibility -> check -> generate, as `tinyc check` and `tinyc generate` do."""
    from tinyc.analyze.memory import plan_improved
    from tinyc.boards import get_board
    from tinyc.codegen import footprint
    from tinyc.codegen.generate import generate
    from tinyc.model import graph, ops

    try:
        with deadline(timeout):
            g = graph.parse(data, name=name)
            ops.check_supported(g)
            board = get_board(board_id)
            b = footprint.check(g, board)
            if out_dir.exists():
                shutil.rmtree(out_dir)
            generate(g, plan_improved(g), board, out_dir)
            return Verdict("accepted" if b.fits else "accepted (does not fit)", "")
    except BaseException as exc:  # noqa: BLE001 - every way out is classified
        if isinstance(exc, KeyboardInterrupt):
            raise
        return classify_exception(exc)


# --- the CLI, as a user runs it ----------------------------------------------------------------------------

TINYC = [sys.executable, "-m", "tinyc.cli"]


def classify_process(rc: int | None, stderr: str, timed_out: bool) -> Verdict:
    """A tinyc subprocess's end: its exit code 0-3 with at most one error line, or a failure."""
    if timed_out:
        return Verdict("hang", stderr[-300:])
    if "Traceback (most recent call last)" in stderr:
        return Verdict("traceback", stderr[-1500:])
    if rc is None or rc < 0:
        name = signal.Signals(-rc).name if rc and -rc in signal.Signals._value2member_map_ else str(rc)
        return Verdict("signal", f"{name}: {stderr[-500:]}")
    if rc not in (0, 1, 2, 3):
        return Verdict("bad exit code", f"exit {rc}: {stderr[-500:]}")
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    if rc in (2, 3) and len(errors) != 1:
        return Verdict("not one line", stderr[-500:])
    kind = {0: "done", 1: "does not fit", 2: "refused", 3: "not implemented"}[rc]
    return Verdict(kind, errors[0][:300] if errors else "", rc)


def run_tinyc(args: list[str], timeout: float, cwd: Path | None = None, env: dict | None = None) -> Verdict:
    e = dict(os.environ, **(env or {}))
    e.setdefault("PYTHONPATH", str(ROOT))
    try:
        r = subprocess.run([*TINYC, *args], capture_output=True, timeout=timeout, cwd=cwd, env=e,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        return classify_process(None, (exc.stderr or b"").decode(errors="replace"), True)
    return classify_process(r.returncode, r.stderr.decode(errors="replace"), False)


def cli_stage(path: Path, board: str, work: Path, which: str, timeout: float = 120.0) -> Verdict:
    if which == "inspect":
        return run_tinyc(["inspect", str(path)], timeout)
    if which == "check":
        return run_tinyc(["check", str(path), "--board", board], timeout)
    out = work / "cli-gen"
    if out.exists():
        shutil.rmtree(out)
    return run_tinyc(["generate", str(path), "--board", board, "-o", str(out)], timeout)


# --- TFLite Micro, in a child process (a crash there is an outcome, never the fuzzer's end) ---------------

def reference_worker(model: str, inputs: str, outputs: str) -> None:
    """Entry point of the child: TFLite Micro on the inputs of an .npz, outputs to another .npz."""
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(Path(model).read_bytes())
    data = np.load(inputs, allow_pickle=False)
    results = {}
    for r in range(int(data["records"])):
        for i in range(int(data["inputs"])):
            it.set_input(data[f"r{r}_{i}"], i)
        it.invoke()
        for j in range(int(data["outputs"])):
            results[f"r{r}_{j}"] = np.array(it.get_output(j))
    np.savez(outputs, **results)


def reference_outputs(model: Path, records: list[list[np.ndarray]], n_out: int, work: Path,
                      timeout: float = 120.0) -> tuple[list[list[np.ndarray]] | None, str]:
    arrays = {"records": np.array(len(records)), "inputs": np.array(len(records[0])), "outputs": np.array(n_out)}
    for r, rec in enumerate(records):
        for i, a in enumerate(rec):
            arrays[f"r{r}_{i}"] = a
    np.savez(work / "ref-in.npz", **arrays)
    out = work / "ref-out.npz"
    if out.exists():
        out.unlink()
    try:
        r = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--reference", str(model),
                            str(work / "ref-in.npz"), str(out)], capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, "TFLite Micro hung"
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip().splitlines()
        what = f"signal {-r.returncode}" if r.returncode < 0 else (err[-1] if err else f"exit {r.returncode}")
        return None, what
    d = np.load(out, allow_pickle=False)
    return [[d[f"r{k}_{j}"] for j in range(n_out)] for k in range(len(records))], ""


# --- accepted models on the host with AddressSanitizer, against TFLite Micro -----------------------------

def random_inputs(g, rng: np.random.Generator, count: int) -> list[list[np.ndarray]]:
    recs = []
    for _ in range(count):
        rec = []
        for i in g.inputs:
            t = g.tensor(i)
            if t.dtype == "float32":
                rec.append(rng.normal(0, 1, t.shape).astype(np.float32))
            else:
                rec.append(rng.integers(-128, 128, t.shape).astype(np.int8))
        recs.append(rec)
    return recs


def asan_stage(data: bytes, name: str, board_id: str, work: Path, seed: int, timeout: float = 300.0) -> Verdict:
    """Generate for ``board_id``, build the host runner with ASan/UBSan and the tensor guard, run three random
    inputs, compare every output byte with TFLite Micro."""
    from tinyc.analyze.memory import plan_improved
    from tinyc.boards import get_board
    from tinyc.codegen import host
    from tinyc.codegen.generate import generate
    from tinyc.errors import TinycError
    from tinyc.model import graph

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    g = graph.parse(data, name=name)
    gen = generate(g, plan_improved(g), get_board(board_id), work / "gen", weights="auto")
    try:
        exe = host.build_runner(gen, work / "build", sanitize=True)
    except TinycError as exc:  # generated C that does not compile is tinyc's bug, not the model's
        return Verdict("host build failed", str(exc)[:1500])
    records = random_inputs(g, np.random.default_rng(seed), 3)
    payload = len(records).to_bytes(4, "little") + b"".join(np.ascontiguousarray(a).tobytes() for rec in records
                                                            for a in rec)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    try:
        r = subprocess.run([str(exe)], input=payload, capture_output=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Verdict("hang", "host runner")
    err = r.stderr.decode(errors="replace")
    if "Sanitizer" in err or "runtime error:" in err:
        return Verdict("asan report", err[:1500])
    if r.returncode != 0:
        return Verdict("signal" if r.returncode < 0 else "bad exit code", f"host runner exit {r.returncode}: {err[:500]}")
    outs = [g.tensor(i) for i in g.outputs]
    sizes = [t.nbytes for t in outs]
    if len(r.stdout) != sum(sizes) * len(records):
        return Verdict("bad exit code", f"host runner wrote {len(r.stdout)} bytes")
    model = work / "model.tflite"
    model.write_bytes(data)
    ref, why = reference_outputs(model, records, len(outs), work)
    if ref is None:
        return Verdict("reference crash", why)
    pos = 0
    for k in range(len(records)):
        for j, t in enumerate(outs):
            got = r.stdout[pos:pos + sizes[j]]
            pos += sizes[j]
            want = np.ascontiguousarray(ref[k][j]).astype(t.dtype if t.dtype != "float32" else np.float32).tobytes()
            if got != want:
                return Verdict("differs from TFLM", f"record {k} output {j}")
    return Verdict("ran, bit-identical to TFLM")


# --- accepted models built and run in QEMU ------------------------------------------------------------------

def qemu_stage(path: Path, board: str, timeout: float = 600.0) -> Verdict:
    """`tinyc bench MODEL --board B`: build, run in QEMU, compare with TFLite Micro."""
    v = run_tinyc(["bench", str(path), "--board", board, "--runs", "1"], timeout)
    if v.outcome == "refused" and "faulted" in v.detail:
        return Verdict("firmware fault", v.detail)
    if v.outcome == "refused" and "outputs are wrong" in v.detail:
        return Verdict("differs from TFLM", v.detail)
    if v.outcome == "done":
        return Verdict("ran in QEMU, bit-identical to TFLM")
    return v


# --- board files ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deep:
    """An array nested ``depth`` levels deep, written as text (no recursion here)."""

    depth: int


def toml_value(v) -> str:
    if isinstance(v, Deep):
        return "[" * v.depth + "1" + "]" * v.depth
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def to_toml(d: dict) -> str:
    """A board dict as TOML: top-level values, then one [table] per dict (nested values inline)."""
    lines = [f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"\n[{json.dumps(str(k))}]")
            lines += [f"{json.dumps(str(kk))} = {toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


BOARD_VALUES = (0, -1, 1, 2 ** 32, 2 ** 64, 10 ** 400, "", "x" * 100000, "0 KiB", "1e400 KiB", "99999999999 MiB",
                "4 GiB", "216 MHz", "1 GHz", "-5 MHz", "12.5 kHz", "\n\x1b[2J", "*/", "nan", math.nan, math.inf, 3.5,
                True, [], {}, [[[[[1]]]]], {"a": {"b": {"c": {}}}}, "../../x", "cortex-m99", "${X}")


def _paths(d, prefix=()):
    for k, v in d.items():
        yield prefix + (k,), v
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                if isinstance(x, dict):
                    yield from _paths(x, prefix + (k, i))


def _set(d, path, value):
    for k in path[:-1]:
        d = d[k]
    if value is _DELETE:
        if isinstance(d, dict):
            d.pop(path[-1], None)
        else:
            d.pop(path[-1])
    else:
        d[path[-1]] = value


_DELETE = object()


def mutate_board(rng: random.Random, text: str) -> tuple[str, str]:
    """A board file's text, mutated as data (a field's value, a missing or extra field, many regions, deep
    nesting) or as text (lines dropped or duplicated, bytes flipped)."""
    import tomllib

    choice = rng.randrange(10)
    if choice >= 8:  # text level
        lines = text.splitlines()
        if choice == 8 and lines:
            k = rng.randrange(len(lines))
            op = rng.randrange(3)
            if op == 0:
                lines.pop(k)
            elif op == 1:
                lines.insert(k, lines[k])
            else:
                lines[k] = lines[k][: rng.randrange(len(lines[k]) + 1)]
            return "\n".join(lines) + "\n", f"line {k} edit {op}"
        b = bytearray(text.encode())
        for _ in range(rng.choice([1, 4, 16])):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return b.decode("utf-8", "replace"), "bytes flipped"
    d = tomllib.loads(text)
    done = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        paths = list(_paths(d))
        if not paths:
            break
        path, old = rng.choice(paths)
        kind = rng.randrange(8)
        if kind == 0:
            _set(d, path, _DELETE)
            done.append(f"{path} removed")
        elif kind == 1 and isinstance(old, dict):
            old[rng.choice(["extra", "Name", "x" * 300])] = rng.choice(BOARD_VALUES[:8])
            done.append(f"{path} extra field")
        elif kind == 2 and path[-1] == "regions" and isinstance(old, list) and old:
            n = rng.choice([0, 2, 33, 1000, 20000])
            base = old[0]
            _set(d, path, [dict(base, name=f"R{i}", origin=(base.get("origin", 0) if isinstance(base.get("origin"), int)
                                                              else 0) + i * 16, size="16 B") for i in range(n)])
            done.append(f"{path} x{n} regions")
        elif kind == 3:
            _set(d, path, Deep(rng.choice([10, 100, 2000, 100000])))
            done.append(f"{path} nested")
        elif kind == 4 and isinstance(old, int) and not isinstance(old, bool):
            _set(d, path, rng.choice([old + 1, old * 16, -old, 2 ** 31, 2 ** 32 - 1, 10 ** 400]))
            done.append(f"{path} number")
        elif kind == 5 and isinstance(old, str):
            _set(d, path, rng.choice([old * 1000, old + "\n", "", old.upper(), old + " MiB", "\x00" + old]))
            done.append(f"{path} string")
        else:
            _set(d, path, rng.choice(BOARD_VALUES))
            done.append(f"{path} value")
    return to_toml(d), "; ".join(map(str, done))


def board_stage(text: str, board_id: str, work: Path, small_model: bytes, timeout: float = 30.0) -> Verdict:
    """Load a board file; when accepted, check a small model against it and render its firmware project."""
    from tinyc.boards import load_board
    from tinyc.codegen import footprint
    from tinyc.deploy.project import render_harness_project
    from tinyc.model import graph

    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    path = work / f"{board_id}.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        with deadline(timeout):
            board = load_board(path)
            g = graph.parse(small_model, name="fc_odd")
            footprint.check(g, board)
            render_harness_project(work / "project", board, [], [], 64, emulate=board.kind == "emulated")
            return Verdict("accepted")
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        return classify_exception(exc)


# --- data files ----------------------------------------------------------------------------------------------

def _npy(a, allow_pickle=False) -> bytes:
    b = io.BytesIO()
    np.save(b, a, allow_pickle=allow_pickle)
    return b.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return b.getvalue()


def _header_only(shape, descr="<f4") -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return b.getvalue() + b"\0" * 64


def make_data(rng: random.Random, shape: tuple[int, ...], classes: int) -> tuple[str, bytes, str]:
    """One data file (suffix, bytes, what it is) for a model with input ``shape`` and ``classes`` outputs."""
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    n = rng.choice([1, 3, 10])
    x = nrng.uniform(-1, 1, (n, *shape)).astype(np.float32)
    y = nrng.integers(0, classes, n)
    kind = rng.randrange(30)
    if kind == 0:
        return ".npz", b"", "zero bytes"
    if kind == 1:
        return ".npz", _zip({}), "empty npz"
    if kind == 2:
        full = _zip({"x.npy": _npy(x), "y.npy": _npy(y)})
        return ".npz", full[: rng.randrange(len(full))], "truncated zip"
    if kind == 3:
        return ".npz", _zip({"x.npy": _npy(np.array([{"a": 1}] * n, dtype=object), True), "y.npy": _npy(y)}), \
            "object array"
    if kind == 4:
        return ".npz", _zip({"x.npy": b"\x80\x04\x95pickle", "y.npy": _npy(y)}), "pickle member"
    if kind == 5:
        return ".npz", _zip({"x.npy": _npy(np.float32(3)), "y.npy": _npy(np.int64(1))}), "scalar x"
    if kind == 6:
        return ".npz", _zip({"x.npy": _npy(np.array(["a"] * n)), "y.npy": _npy(y)}), "string x"
    if kind == 7:
        return ".npz", _zip({"x.npy": _npy(x), "y.npy": _npy(nrng.random((n, rng.choice([2, classes, 7]))))}), \
            "2-D labels"
    if kind == 8:
        return ".npy", _npy(x), "inputs only (.npy)"
    if kind == 9:
        return ".npz", _zip({"x.npy": _header_only(rng.choice([(10 ** 6, 10 ** 5), (1 << 40,), (2, 1 << 31)])),
                             "y.npy": _npy(y)}), "huge declared shape"
    if kind == 10:
        return ".npz", _zip({"x.npy": _npy(((x + 1) * 127.5).astype(np.uint8)), "y.npy": _npy(y)}), "uint8 inputs"
    if kind == 11:
        return ".npz", _zip({"x.npy": _npy(x * rng.choice([100.0, 1e6, 1e30])), "y.npy": _npy(y)}), "out-of-range inputs"
    if kind == 12:
        x2 = x.copy()
        x2.reshape(-1)[rng.randrange(x2.size)] = rng.choice([math.nan, math.inf, -math.inf])
        return ".npz", _zip({"x.npy": _npy(x2), "y.npy": _npy(y)}), "NaN/inf input"
    if kind == 13:
        return ".npz", _zip({"x.npy": _npy(x.astype(np.complex64)), "y.npy": _npy(y)}), "complex inputs"
    if kind == 14:
        return ".npz", _zip({"x.npy": _npy(x), "y.npy": _npy(y[:max(n - 1, 0)])}), "labels one short"
    if kind == 15:
        return ".npz", _zip({"x.npy": _npy(x[:0]), "y.npy": _npy(y[:0])}), "zero samples"
    if kind == 16:
        return ".npz", _zip({"x.npy": _npy(x.reshape(n, -1)[:, :max(x[0].size // 2, 1)]), "y.npy": _npy(y)}), \
            "wrong input shape"
    if kind == 17:
        return ".npz", _zip({"x.npy": _npy(np.zeros(n, dtype=[("a", "f4"), ("b", "i4")])), "y.npy": _npy(y)}), \
            "structured dtype"
    if kind == 18:
        full = bytearray(_zip({"x.npy": _npy(x), "y.npy": _npy(y)}))
        for _ in range(rng.choice([1, 8])):
            full[rng.randrange(len(full))] ^= 1 << rng.randrange(8)
        return ".npz", bytes(full), "flipped bits"
    if kind == 19:
        return ".npz", _zip({"x.npy": _npy(x), "y.npy": _npy(np.array(["cat"] * n))}), "string labels"
    if kind == 20:
        return ".npz", _zip({"x.npy": _npy(x), "y.npy": _npy(y * 1000 - 500)}), "labels out of range"
    if kind == 21:
        return ".npz", _zip({"inputs.npy": _npy(x), "labels.npy": _npy(y)}), "older key names"
    if kind == 22:
        return ".npz", _zip({"x.npy": _npy(x)}), "no labels"
    if kind == 23:
        return ".npz", _zip({"x.npy": _npy(x.astype(np.float64)), "y.npy": _npy(np.eye(classes)[y])}), "one-hot labels"
    if kind == 24:
        return ".npz", _zip({"x.npy": _header_only(x.shape, "<f4")[:40], "y.npy": _npy(y)}), "header cut short"
    if kind == 25:
        return ".npz", _zip({"x.npy": _npy(x.astype(np.float16)), "y.npy": _npy(y)}), "float16 inputs"
    if kind == 26:
        return ".npz", _zip({"x.npy": _npy(nrng.integers(-128, 128, x.shape).astype(np.int8)), "y.npy": _npy(y)}), \
            "int8 inputs"
    if kind == 27:
        return ".npz", _zip({"x.npy": _npy(np.float64(1e308) * np.ones(x.shape)), "y.npy": _npy(y)}), \
            "float64 beyond float32"
    if kind == 28:
        return ".npy", _header_only((1 << 40,)), "huge .npy"
    return ".npz", _zip({"x.npy": _npy(x), "y.npy": _npy(y)}), "valid"


def data_stage(path: Path, model: Path, timeout: float = 60.0) -> Verdict:
    """optimize's reader (load_data) and validate's (load_test_data, tasks, labels prepared, inputs quantized
    and saturation counted) on one file; the verdict of the stricter."""
    from tinyc.deploy.validate import load_test_data, model_tasks, quantize, _saturated
    from tinyc.model import graph
    from tinyc.optimize.data import check_shape, load_data

    try:
        with deadline(timeout):
            ds = load_data(str(path))
            g = graph.load(model)
            t = g.tensor(g.inputs[0])
            check_shape(ds, (None, *t.shape[1:]), model.name)
            test = load_test_data(path)
            tasks = model_tasks(model, test)
            test.prepared(tasks)
            from tinyc.deploy.link import TensorInfo

            info = TensorInfo("in", 0, t.name, 0, t.nbytes, tuple(t.shape), float(t.quantization.scales[0]),
                              int(t.quantization.zero_points[0]))
            lo = (-128 - info.zero_point) * info.scale
            hi = (127 - info.zero_point) * info.scale
            for sample in test.x[:3]:
                sample = np.asarray(sample)
                q = quantize(sample, info).astype(np.int64)
                want = np.clip(np.round(sample / info.scale) + info.zero_point, -128, 127)
                if q.dtype != np.int64 or np.abs(q - want.reshape(q.shape)).max(initial=0) > 1:
                    return Verdict("wraps", f"inputs quantized to {q.min()}..{q.max()}, not clipped")
                expect = int(((sample < lo - info.scale) | (sample > hi + info.scale)).sum())
                if _saturated(sample, info) != expect:
                    return Verdict("wraps", "saturated values not counted")
            return Verdict("accepted")
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, KeyboardInterrupt):
            raise
        return classify_exception(exc)


# --- the run -------------------------------------------------------------------------------------------------

ASAN_BOARD = {"mps3-an547": "mps2-an500"}  # the host runtime has the portable and DSP kernels, not Helium's


@dataclass
class Accepted:
    name: str
    data: bytes
    board: str
    what: str


def run(args) -> Tally:
    import hashlib

    rng = random.Random(args.seed)
    tally = Tally()
    keep_dir = Path(args.keep) if getattr(args, "keep", None) else None

    def keep(v: Verdict, blob: bytes | str, suffix: str) -> None:
        """--keep DIR: the input of every failure, to reproduce it."""
        if keep_dir is None or v.outcome not in FAILURES:
            return
        keep_dir.mkdir(parents=True, exist_ok=True)
        data = blob.encode("utf-8", "surrogateescape") if isinstance(blob, str) else blob
        (keep_dir / f"{len(tally.failures):04d}-{v.outcome.replace(' ', '-')}{suffix}").write_bytes(data)

    work = Path(tempfile.mkdtemp(prefix="tinyc-fuzz-"))
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    try:
        seeds = seed_models()
        by_name = dict(seeds)
        accepted: list[Accepted] = []
        cli_every = max(1, args.models // max(args.cli, 1)) if args.cli else 0

        # 1. models in process (and a sample through the CLI)
        t0 = time.time()
        jobs: list[tuple[str, bytes, str, str | None]] = [(f"crafted: {n}", d, "crafted", e)
                                                            for n, d, e in crafted(by_name)]
        while len(jobs) < args.models:
            name, data = seeds[len(jobs) % len(seeds)] if rng.random() < 0.5 else rng.choice(seeds)
            if rng.random() < 0.2:
                d, what = flip_bytes(rng, data)
                jobs.append((name, d, f"bytes: {what}", None))
            else:
                d, what = mutate(rng, data)
                jobs.append((name, d, f"flatbuffer: {what}", None))
        cli_runs = 0
        for k, (name, data, what, expect) in enumerate(jobs):
            board = BOARDS[k % len(BOARDS)]
            v = in_process(data, name, board, work / "gen", timeout=args.timeout)
            if expect is not None and v.outcome != "refused":
                v = Verdict("crafted model accepted", f"{name}: {v.outcome} {v.detail}")
            elif expect and expect not in v.detail:
                v = Verdict("crafted model accepted", f"{name}: the line does not name {expect!r}: {v.detail}")
            outcome = "refused (exit 2)" if v.outcome == "refused" else v.outcome
            tally.add("models in process: verifier, check, generate", outcome, f"{name} [{board}] {what}: {v.detail}")
            keep(v, data, ".tflite")
            if v.outcome.startswith("accepted"):
                accepted.append(Accepted(name, data, board, what))
            if cli_every and k % cli_every == 0 and cli_runs < args.cli:
                path = work / "cli" / f"m{k}.tflite"
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(data)
                which = ("check", "generate", "inspect")[cli_runs % 3]
                cv = cli_stage(path, board, work, which)
                tally.add(f"models through the CLI (subprocess: {which})", cv.outcome, f"{name} [{board}] {what}: {cv.detail}")
                keep(cv, data, ".tflite")
                cli_runs += 1
                path.unlink()
            if (k + 1) % 500 == 0:
                say(f"  models {k + 1}/{len(jobs)} ({time.time() - t0:.0f} s), accepted {len(accepted)}, "
                    f"failures {len(tally.failures)}")
        tally.times["models"] = time.time() - t0

        # 2. accepted models on the host with ASan and the tensor guard, against TFLite Micro (child process)
        t0 = time.time()
        seen: set[str] = set()
        pool = list(accepted)
        rng.shuffle(pool)
        pool.sort(key=lambda a: len(a.data) > 120_000)  # small models first: the big ones take seconds each
        done = 0
        for a in pool:
            if done >= args.asan:
                break
            h = hashlib.sha256(a.data).hexdigest()
            if h in seen:
                continue
            seen.add(h)
            board = ASAN_BOARD.get(a.board, a.board)
            try:
                v = asan_stage(a.data, a.name, board, work / "asan", seed=done, timeout=args.timeout * 5)
            except BaseException as exc:  # noqa: BLE001
                if isinstance(exc, KeyboardInterrupt):
                    raise
                v = classify_exception(exc)
            tally.add("accepted models on the host (ASan + UBSan + tensor guard) vs TFLM", v.outcome,
                      f"{a.name} [{board}] {a.what}: {v.detail}")
            keep(v, a.data, ".tflite")
            done += 1
            if done % 50 == 0:
                say(f"  asan {done}/{args.asan} ({time.time() - t0:.0f} s)")
        tally.times["asan"] = time.time() - t0

        # 3. accepted models built and run in QEMU (tinyc bench, compared with TFLite Micro)
        t0 = time.time()
        done = 0
        qpool = [a for a in pool if len(a.data) < 120_000]
        for a in qpool:
            if done >= args.qemu:
                break
            path = work / "qemu" / f"{a.name}-{done}.tflite"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(a.data)
            v = qemu_stage(path, "mps2-an500", timeout=args.timeout * 10)
            tally.add("accepted models built and run in QEMU (tinyc bench)", v.outcome, f"{a.name} {a.what}: {v.detail}")
            keep(v, a.data, ".tflite")
            done += 1
            if done % 10 == 0:
                say(f"  qemu {done}/{args.qemu} ({time.time() - t0:.0f} s)")
        tally.times["qemu"] = time.time() - t0

        # 4. board files
        t0 = time.time()
        from tinyc import paths

        board_files = sorted(paths.boards_dir().glob("*.toml"))
        small = by_name["fc_odd"]
        cli_boards = max(1, args.boards // 10)
        for k in range(args.boards):
            src = board_files[k % len(board_files)]
            text, what = mutate_board(rng, src.read_text())
            v = board_stage(text, src.stem, work / "board", small, timeout=args.timeout)
            tally.add("board files (load, check, project)", "refused (exit 2)" if v.outcome == "refused" else v.outcome,
                      f"{src.stem}: {what}: {v.detail}")
            keep(v, text, ".toml")
            if k % (args.boards // cli_boards or 1) == 0:
                bdir = work / "boards-cli"
                if bdir.exists():
                    shutil.rmtree(bdir)
                shutil.copytree(paths.boards_dir(), bdir)
                (bdir / src.name).write_text(text, encoding="utf-8", errors="surrogateescape")
                which = ("boards", "show", "check")[k % 3]
                argv = {"boards": ["boards"], "show": ["boards", "show", src.stem],
                        "check": ["check", str(zoo_path("fc_odd")), "--board", src.stem]}[which]
                cv = run_tinyc(argv, 120, env={"TINYC_BOARDS_DIR": str(bdir)})
                tally.add(f"board files through the CLI (subprocess: {which})", cv.outcome, f"{src.stem}: {what}: {cv.detail}")
        tally.times["boards"] = time.time() - t0

        # 5. data files
        t0 = time.time()
        model = zoo_path("kws_dscnn")
        from tinyc.model import graph

        g = graph.load(model)
        shape = tuple(g.tensor(g.inputs[0]).shape[1:])
        classes = int(g.tensor(g.outputs[0]).shape[-1])
        firmware = None
        n_cli_data = max(1, args.data // 25) if args.data_cli else 0
        for k in range(args.data):
            suffix, blob, what = make_data(rng, shape, classes)
            path = work / "data" / f"d{k}{suffix}"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(blob)
            v = data_stage(path, model, timeout=args.timeout)
            tally.add("data files (optimize's and validate's readers)",
                      "refused (exit 2)" if v.outcome == "refused" else v.outcome, f"{what}: {v.detail}")
            keep(v, blob, suffix)
            if n_cli_data and k % (args.data // n_cli_data or 1) == 0:
                if firmware is None:
                    firmware = work / "kws-fw"
                    fv = run_tinyc(["build", str(model), "--board", "mps2-an500", "-o", str(firmware), "--no-run"], 900)
                    if fv.outcome != "done":
                        tally.add("data files through tinyc validate (subprocess)", fv.outcome, f"build: {fv.detail}")
                        firmware = False
                if firmware:
                    cv = run_tinyc(["validate", str(model), "--board", "mps2-an500", "--firmware", str(firmware),
                                    "--data", str(path)], 300)
                    tally.add("data files through tinyc validate (subprocess)", cv.outcome, f"{what}: {cv.detail}")
            path.unlink()
        tally.times["data"] = time.time() - t0
        return tally
    finally:
        shutil.rmtree(work, ignore_errors=True)


def zoo_path(name: str) -> Path:
    from tinyc import zoo

    return zoo.build(name)


def summary(tally: Tally, args, seconds: float) -> str:
    sections: dict[str, Counter] = {}
    for (section, outcome), n in tally.counts.items():
        sections.setdefault(section, Counter())[outcome] += n
    lines = ["# Fuzzing tinyc with hostile models, board files and data files (issue 19)", "",
             f"Command: `.venv/bin/python benchmarks/fuzz.py {' '.join(args.argv)}`".rstrip() + "  ",
             f"Seed {args.seed}; {seconds / 60:.1f} min on this machine "
             f"({', '.join(f'{k} {v / 60:.1f} min' for k, v in tally.times.items())}).", "",
             "| inputs | outcome | count | first example |", "|---|---|---:|---|"]

    def cell(text: str) -> str:
        from tinyc.ui import printable

        text = printable(text).replace("|", "\\|").replace(str(Path(tempfile.gettempdir())), "$TMP")
        return text if len(text) <= 220 else text[:217] + "..."

    for section, c in sections.items():
        for outcome, n in sorted(c.items(), key=lambda kv: (kv[0] in FAILURES, -kv[1])):
            mark = " **(failure)**" if outcome in FAILURES else ""
            lines.append(f"| {section} | {outcome}{mark} | {n:,} | {cell(tally.examples.get((section, outcome), ''))} |")
        lines.append(f"| {section} | **total** | **{sum(c.values()):,}** | |")
    failures = sum(n for (s, o), n in tally.counts.items() if o in FAILURES)
    lines += ["", f"Failures (tracebacks, signals, hangs, ASan/UBSan reports, firmware faults, outputs differing from "
                  f"TFLite Micro, crafted models accepted, exit codes outside 0-3, errors longer than one line): "
                  f"**{failures}**."]
    if tally.failures:
        lines += ["", "## Failures", ""] + [f"- {f.splitlines()[0] if f else f}" for f in tally.failures[:50]]
    lines += ["", "Outcomes: *refused (exit 2)*: one line naming the file, the operator and tensor or field, and the "
                  "problem; *does not fit* (exit 1); *not implemented* (exit 3: a variant tinyc has no kernel for); "
                  "*accepted*: check and generate succeeded; *done*: the command exited 0."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--reference"]:
        reference_worker(*argv[1:4])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--models", type=int, default=10_000, help="models through the verifier, check and generate")
    p.add_argument("--cli", type=int, default=1_000, help="of those, run through the CLI as subprocesses")
    p.add_argument("--asan", type=int, default=300, help="accepted models on the ASan host runner")
    p.add_argument("--qemu", type=int, default=50, help="accepted models built and run in QEMU")
    p.add_argument("--boards", type=int, default=1_000)
    p.add_argument("--data", type=int, default=500)
    p.add_argument("--data-cli", type=int, default=1, help="0: no data file through tinyc validate")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per model before it counts as a hang")
    p.add_argument("--out", type=Path, default=RESULTS, help="the results file (- for none)")
    p.add_argument("--keep", default=None, help="write the input of every failure into this folder")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    args.argv = [a for k, a in enumerate(argv) if a != "--keep" and (k == 0 or argv[k - 1] != "--keep")]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t0 = time.time()
    tally = run(args)
    text = summary(tally, args, time.time() - t0)
    print(text)
    if str(args.out) != "-":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 1 if any(o in FAILURES for (_, o) in tally.counts) else 0


if __name__ == "__main__":
    sys.exit(main())
