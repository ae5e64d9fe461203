"""UNIDIRECTIONAL_SEQUENCE_LSTM: a Keras LSTM layer as the int8 converter writes it (int8 activations and weights,
int16 cell state, hidden and cell state as variable tensors), run as TFLite Micro's integer LSTM kernel does.

TFLite Micro's kernel takes the standard LSTM only: no CIFG, peephole, projection or layer norm (it refuses those
files, so tinyc does too). Its gate matmuls requantize to Q3.12 with scales it derives from the tensors (the
converter's intermediate tensors are not read), sigmoid and tanh run on int16 through TFLite's table.

State: TFLite Micro keeps the hidden and cell state in its persistent arena between invocations until Reset();
tinyc's kernel starts every inference from the initial state (hidden = its zero point, cell = 0), which is what a
Keras LSTM computes for each sequence and what a freshly allocated (or reset) interpreter gives."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import quant as Q
from tinyc.codegen.kernels import ArgType, CType, Field, Role
from tinyc.errors import NotImplementedYet
from tinyc.model.graph import Graph, Operator
from tinyc.model.verify import shp, tname
from tinyc.operators import CodeSize, Example, OpDecl

if TYPE_CHECKING:
    from tinyc.codegen.lower import Lowering
    from tinyc.model.verify import Checker

# TFLite's input positions (lstm_shared.h): the input, 4 input-to-gate and 4 recurrent-to-gate weights (gates in the
# order input, forget, cell, output), 3 peephole weights, 4 biases, projection weights and bias, hidden and cell
# state, 4 layer-norm coefficients.
INPUT, IN_W, REC_W, PEEPHOLE, BIAS, PROJECTION, HIDDEN, CELL, LAYER_NORM = 0, 1, 5, 9, 12, 16, 18, 19, 20
Q3_12 = 2.0 ** -12  # the gates' matmul output scale
Q0_15 = 2.0 ** -15  # the activations' output scale

LSTM = K.declare(
    "TINYC_LSTM_S8", "UNIDIRECTIONAL_SEQUENCE_LSTM", "unidirectional_sequence_lstm.c",
    "tinyc_lstm_params_t", (Role.INPUT, Role.WEIGHTS, Role.BIAS, Role.OUTPUT, Role.IO, Role.INPUT2, Role.OUTPUTS),
    fields=(Field("batches"), Field("steps"), Field("n_input"), Field("n_cell"), Field("time_major"),
            Field("hidden_zp"),
            Field("in_mult", 4), Field("in_shift", 4), Field("rec_mult", 4), Field("rec_shift", 4), Field("cell_tanh"),
            Field("forget_mult"), Field("forget_shift"), Field("input_mult"), Field("input_shift"),
            Field("output_mult"), Field("output_shift"), Field("use_clip"), Field("cell_clip"),
            Field("tanh_mult"), Field("tanh_shift")),
    arg_types={Role.IO: ArgType(CType.I8), Role.INPUT2: ArgType(CType.I16), Role.OUTPUTS: ArgType(CType.I16, table=True)})


def _specialize_dsp(specializer, call):
    """The Arm DSP kernel for every LSTM (same parameters and weights): it needs the input row and the hidden state
    widened to int16 pairs in the set's static scratch."""
    from tinyc.codegen.specialize import SCRATCH

    words = ((call.param("n_input") & ~3) + (call.param("n_cell") & ~3)) // 2
    specializer.scratch = max(specializer.scratch, 4 * words + 4)
    return call.to(LSTM_DSP, scratch=K.Static(SCRATCH))


LSTM_DSP = K.declare(
    "TINYC_DSP_LSTM_S8", "UNIDIRECTIONAL_SEQUENCE_LSTM", "unidirectional_sequence_lstm.c", LSTM.params,
    (*LSTM.roles, Role.SCRATCH), kernel_set=K.KernelSet.ARM_DSP, replaces=(LSTM.macro,), fields=LSTM.fields,
    arg_types={**dict(LSTM.arg_types), Role.SCRATCH: ArgType(CType.I32)}, specialize=_specialize_dsp)



def _specialize_scalar(specializer, call):
    """The scalar Arm kernel (Cortex-M0/M0+/M3): each gate's two matmuls as the one-batch FULLY_CONNECTED's
    matrix-vector product, so the weights go in its layout (blocks of 4 rows interleaved by column, unsigned bytes);
    the input row and hidden state widened to int32 and two rows of accumulators in the set's static scratch."""
    from tinyc.codegen.specialize_arm_scalar import SCRATCH, pack_fc_blocks

    w = specializer.values(call[Role.WEIGHTS])
    if w is None:
        return "weights are not a plain constant array"
    n, ni = call.param("n_cell"), call.param("n_input")
    k4 = lambda k: (k + 3) // 4 * 4  # noqa: E731
    need = 4 * (k4(ni) + k4(n) + 2 * n)
    why = specializer.over(need)
    if why:
        return why
    w_in, w_rec = w[:4 * n * ni].reshape(4, n, ni), w[4 * n * ni:].reshape(4, n, n)
    packed = np.concatenate([pack_fc_blocks(w_in[g])[0] for g in range(4)]
                            + [pack_fc_blocks(w_rec[g])[0] for g in range(4)])
    name = specializer.add_const(f"tinyc_op{call.index}_scalar_lstm_w", "int8_t", packed)
    specializer.scratch = max(specializer.scratch, need)
    return call.to(LSTM_SCALAR, weights=K.Const(name), scratch=K.Static(SCRATCH))


LSTM_SCALAR = K.declare(
    "TINYC_SCALAR_LSTM_S8", "UNIDIRECTIONAL_SEQUENCE_LSTM", "unidirectional_sequence_lstm.c", LSTM.params,
    (*LSTM.roles, Role.SCRATCH), kernel_set=K.KernelSet.ARM_SCALAR, replaces=(LSTM.macro,), fields=LSTM.fields,
    arg_types={**dict(LSTM.arg_types), Role.SCRATCH: ArgType(CType.I32)}, specialize=_specialize_scalar)

def _sizes(g: Graph, op: Operator) -> tuple[int, int, int, int]:
    """(batches, steps, inputs, cells) of the layer (TFLite's CreateLstmSizeInfo)."""
    x = g.tensor(op.inputs[INPUT]).shape
    major = bool(op.options.get("time_major", False))
    batches, steps = (x[1], x[0]) if major else (x[0], x[1])
    return int(batches), int(steps), int(x[2]), int(g.tensor(op.inputs[IN_W + 1]).shape[0])


def macs(g: Graph, op: Operator) -> int:
    b, t, i, n = _sizes(g, op)
    return b * t * 4 * n * (i + n)


def scratch(g: Graph, op: Operator) -> list[int]:
    """TFLite Micro's Prepare requests four int16 buffers of batches x cells (the gates, the matmul's partial);
    tinyc's kernel uses the same four."""
    b, _, _, n = _sizes(g, op)
    return [b * n * 2] * 4


def _tanh_scaling(cell_scale: float) -> tuple[int, int]:
    """The cell state's tanh input scaling: TFLite's CheckedLog2 of the scale (rounded, unchecked), then
    (15 + power - 3) as a left shift of the x3 multiplier, or a rounded right shift when negative."""
    power = int(Q.round_half_away_f32(np.float32(math.log(np.float32(cell_scale)) * (1.0 / math.log(2.0)))))
    left = 15 + power - 3
    return (3 << left, 0) if left >= 0 else (3, -left)


def lower(ctx: "Lowering", op: Operator) -> None:
    g = ctx.g
    t = [g.tensor(i) if i >= 0 else None for i in op.inputs]
    x, y, h, c = t[INPUT], g.tensor(op.outputs[0]), t[HIDDEN], t[CELL]
    ctx.require_int8(op, x, y, h, *t[IN_W:IN_W + 8])
    b, steps, ni, n = _sizes(g, op)
    sx, sh = ctx.scale(x), ctx.scale(h)
    in_mult, in_shift, rec_mult, rec_shift = [], [], [], []
    for gate in range(4):
        m, s = Q.fc_multiplier_per_tensor(sx, ctx.scale(t[IN_W + gate]), Q3_12)
        in_mult.append(m), in_shift.append(s)
        m, s = Q.fc_multiplier_per_tensor(sh, ctx.scale(t[REC_W + gate]), Q3_12)
        rec_mult.append(m), rec_shift.append(s)
    sc = ctx.scale(c)
    fm, fs = Q.mul_multiplier(Q0_15, sc, sc)
    im, is_ = Q.mul_multiplier(Q0_15, Q0_15, sc)
    om, os_ = Q.mul_multiplier(Q0_15, Q0_15, sh)
    clip = float(np.float32(op.options.get("cell_clip", 0.0) or 0.0))
    qclip = int(min(max(clip / float(np.float32(sc)), -32768.0), 32767.0)) if clip > 0 else 0
    tm, ts = _tanh_scaling(sc)
    bufs = [s for s in ctx.scratch.get(op.index, []) if s[2] != "inplace"]
    if len(bufs) != 4 or any(s[1] < 2 * b * n for s in bufs):
        raise NotImplementedYet(f"{ctx.where(op)}: the memory plan reserves no four {2 * b * n}-byte scratch buffers "
                                "for the LSTM")
    weights = np.concatenate([np.asarray(t[i].data, np.int8).reshape(-1) for i in range(IN_W, IN_W + 8)])
    # the zero points folded into int32 biases (wrapping as the kernel's int32 sums do): input rows, then recurrent
    rows = [np.asarray(t[BIAS + k].data, np.int64).reshape(-1)
            - ctx.zp(x) * np.asarray(t[IN_W + k].data, np.int64).reshape(n, ni).sum(axis=1) for k in range(4)]
    rows += [-ctx.zp(h) * np.asarray(t[REC_W + k].data, np.int64).reshape(n, n).sum(axis=1) for k in range(4)]
    bias = ((np.concatenate(rows) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int64)
    p = dict(batches=b, steps=steps, n_input=ni, n_cell=n, time_major=int(bool(op.options.get("time_major", False))),
             hidden_zp=ctx.zp(h), in_mult=in_mult, in_shift=in_shift,
             rec_mult=rec_mult, rec_shift=rec_shift,
             cell_tanh=int(op.options.get("fused_activation_function", "TANH") == "TANH"),
             forget_mult=fm, forget_shift=fs, input_mult=im, input_shift=is_, output_mult=om, output_shift=os_,
             use_clip=int(clip > 0), cell_clip=qclip, tanh_mult=tm, tanh_shift=ts)
    ctx.add(op, LSTM, p, input=ctx.ptr(x), weights=K.Const(ctx.const(f"tinyc_op{op.index}_lstm_w", "int8_t", weights)),
            bias=K.Const(ctx.const(f"tinyc_op{op.index}_lstm_b", "int32_t", bias)), output=ctx.ptr(y),
            io=ctx.ptr(h), input2=ctx.ptr(c, "int16_t"), outputs=K.PointerTable(f"tinyc_op{op.index}_lstm_scratch",
                                            tuple(K.Arena(o, "int16_t") for o, _, _ in bufs), "int16_t"))


def verify(c: "Checker", op: Operator) -> None:
    kinds = ("UnidirectionalSequenceLSTMOptions",)
    ins, (y,) = c.io(op, (24, 24), 1)
    what = {PEEPHOLE: "peephole weights", PROJECTION: "a projection", LAYER_NORM: "layer normalization"}
    for pos in range(24):
        need = pos in (INPUT, HIDDEN, CELL) or IN_W <= pos < IN_W + 8 or BIAS <= pos < BIAS + 4
        if need and ins[pos] is None:
            c.fail(f"input {pos} is missing; TFLite Micro's LSTM needs all four gates' weights and biases and both "
                   "states (no CIFG)")
        if not need and ins[pos] is not None:
            key = max(k for k in what if k <= pos)
            c.fail(f"has {what[key]} (input {pos}); TFLite Micro's LSTM kernel (and tinyc's) runs the standard LSTM "
                   "only: convert a plain Keras LSTM layer")
    x, h, cell = ins[INPUT], ins[HIDDEN], ins[CELL]
    for t, role, dt in ((x, "input", "int8"), (y, "output", "int8"), (h, "hidden state", "int8"),
                        (cell, "cell state", "int16")):
        c.dtype(t, role, dt)
    for t, role in ((h, "hidden state"), (cell, "cell state")):
        if not t.is_variable:
            c.fail(f"{role} {tname(t)} is not a variable tensor; TFLite Micro needs the LSTM's states variable")
    c.rank(x, "input", 3)
    c.rank(y, "output", 3)
    major = bool(c.option(op, "time_major", False, kinds))
    act = c.option(op, "fused_activation_function", "TANH", kinds)
    if act not in ("TANH", "SIGMOID"):
        c.fail(f"has cell activation {act}; TFLite Micro's LSTM computes its cell gate with tanh or sigmoid only")
    clip = c.option(op, "cell_clip", 0.0, kinds)
    if not (isinstance(clip, (int, float)) and math.isfinite(clip) and clip >= 0):
        c.fail(f"has cell_clip {clip!r}; it must be 0 (none) or positive")
    batches, steps = (x.shape[1], x.shape[0]) if major else (x.shape[0], x.shape[1])
    w0 = ins[IN_W]
    c.rank(w0, "weights", 2)
    n = w0.shape[0]
    for k in range(8):
        w = ins[IN_W + k]
        want = (n, x.shape[2]) if k < 4 else (n, n)
        c.dtype(w, "weights", "int8")
        c.constant(w, "weights")
        if tuple(w.shape) != want:
            c.fail(f"weights {tname(w)} are {shp(w.shape)}; the LSTM's {'input' if k < 4 else 'recurrent'} weights "
                   f"are {shp(want)}")
        c.filter_quant(w, 0, n)
        if len(w.quantization.scales) != 1:
            c.fail(f"weights {tname(w)} are quantized per channel; TFLite Micro's LSTM takes one scale per matrix")
    for k in range(4):
        c.bias(ins[BIAS + k], n)
    if tuple(y.shape) != ((steps, batches, n) if major else (batches, steps, n)):
        c.fail(f"output {tname(y)} is {shp(y.shape)} but {steps} steps of {batches} batch(es) x {n} cells make "
               f"{shp((steps, batches, n) if major else (batches, steps, n))}")
    for t, role in ((h, "hidden state"), (cell, "cell state")):
        if t.size != batches * n:
            c.fail(f"{role} {tname(t)} {shp(t.shape)} holds {t.size} values; the LSTM keeps {batches} x {n}")
    sx, zx = c.per_tensor(x, "input")
    sh, zh = c.per_tensor(h, "hidden state")
    scell, _ = c.per_tensor(cell, "cell state")
    for k in range(4):
        c.multiplier(sx * ins[IN_W + k].quantization.scales[0] / Q3_12, "a gate's input requantization multiplier")
        c.multiplier(sh * ins[REC_W + k].quantization.scales[0] / Q3_12,
                     "a gate's recurrent requantization multiplier")
        c.accumulators(zx, ins[IN_W + k], np.asarray(ins[BIAS + k].data, np.int64).reshape(-1), 0, n)
        c.accumulators(zh, ins[REC_W + k], None, 0, n)
    c.multiplier(Q0_15 * Q0_15 / sh, "the hidden state's requantization multiplier")
    c.multiplier(Q0_15 * Q0_15 / scell, "the cell update's requantization multiplier")


# --- test models: Keras LSTM layers (batch 1) ---

def _lstm_sequences(k, x):
    """LSTM(6, return_sequences=True): every step's hidden state out"""
    return k.layers.LSTM(6, return_sequences=True)(x)


def _lstm_stacked(k, x):
    """input x6 (MUL), LSTM(9) over 11 steps with a cell state past 1 (Q3.12 tanh path), LSTM(5), Dense(3) per step"""
    y = k.layers.Rescaling(6.0)(x)
    y = k.layers.LSTM(9, return_sequences=True)(y)
    y = k.layers.LSTM(5, return_sequences=True)(y)
    return k.layers.Dense(3)(y)


def _lstm_last(k, x):
    """LSTM(7) returning the last step only (return_sequences=False: a STRIDED_SLICE of the sequence)"""
    return k.layers.LSTM(7)(x)


_GRU_OPS = ("UNPACK", "FULLY_CONNECTED", "SPLIT", "SPLIT_V", "LOGISTIC", "TANH", "SUB", "MUL", "ADD")


def _gru_unrolled(k, x):
    """GRU(6, unroll=True), last step: the converter unrolls it into per-step FULLY_CONNECTED, SPLIT, LOGISTIC, TANH,
    SUB, MUL and ADD (a recurrent layer's test models live with the LSTM's; a GRU has no operator of its own)"""
    return k.layers.GRU(6, unroll=True)(x)


def _gru_unrolled_sequences(k, x):
    """GRU(5, unroll=True, return_sequences=True) over 4 steps, every step's state out (PACK)"""
    return k.layers.GRU(5, unroll=True, return_sequences=True)(x)


EXAMPLES = (
    Example("lstm_sequences", ((7, 5),), _lstm_sequences),
    Example("lstm_stacked", ((11, 4),), _lstm_stacked, ops=("MUL", "UNIDIRECTIONAL_SEQUENCE_LSTM", "FULLY_CONNECTED")),
    Example("lstm_last", ((6, 3),), _lstm_last, ops=("UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE")),
    Example("gru_unrolled", ((7, 5),), _gru_unrolled, ops=_GRU_OPS),
    Example("gru_unrolled_sequences", ((4, 3),), _gru_unrolled_sequences, ops=(*_GRU_OPS, "PACK")),
)


OP = OpDecl("UNIDIRECTIONAL_SEQUENCE_LSTM", 1, lower, verify, macs, scratch=scratch, runtime_scratch=scratch,
            activation_dtypes=("int8", "int16"), code_size=CodeSize(2080, 592), kernels=(LSTM,),
            layers=("LSTM",), examples=EXAMPLES,
            note="int8 x int8 gates, int16 cell state; no CIFG/peephole/projection/layer norm (as TFLite Micro)")
