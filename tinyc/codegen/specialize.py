"""Specialize lowered kernel calls for an optimized kernel set (the Arm DSP extension here; the Helium set
of the Cortex-M55 in specialize_mve.py, chained to this one).

The generator knows every shape and constant, so work the reference kernels redo at run time is done
here once: weights are re-packed for the kernel's access pattern, the input zero point is folded into the
bias (bias' = bias + in_offset * sum(w), CONV_2D / FULLY_CONNECTED), and the requantization is chosen per
layer and proven exact per output channel on every accumulator the layer can reach (tinyc/codegen/
requant.py: SMMULR + one rounding shift where that is exact, else the general form with a pre-shift per
channel and the zero point added after the shift; constant channels either way). A call the kernels do not
cover keeps its reference kernel, and the reason is recorded (``Specialization.choices``): the output is
bit-identical either way.

Re-packing keeps the weights' size except where a row is padded to a multiple of 4 bytes; the
per-channel requantization constants grow from 8 to 12 bytes (20 in the general form; ``flash_delta``
says by how much).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable

import numpy as np

from tinyc.codegen import requant as RQ
from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Arena, Const, KernelCall, Null, Role, Static, StaticBuffer
from tinyc.codegen.lower import WEIGHT_SCRATCH, ConstArray, LoweredModel

# The set's kernel macros (declared in tinyc/codegen/kernels.py); DSP_FC runs one batch, more batches DSP_CONV.
DSP_CONV, DSP_FC, DSP_DWCONV, DSP_ADD, DSP_AVG_POOL = (k.macro for k in (K.DSP_CONV, K.DSP_FC, K.DSP_DWCONV, K.DSP_ADD,
                                                                         K.DSP_AVG_POOL))
DSP_CONV_PW_INPLACE, DSP_DW_ROWS_INPLACE, DSP_CONV_ROWS_INPLACE, DSP_ADD_INPLACE, DSP_DW_PLANE_INPLACE = (
    k.macro for k in (K.DSP_CONV_PW_INPLACE, K.DSP_DW_ROWS_INPLACE, K.DSP_CONV_ROWS_INPLACE, K.DSP_ADD_INPLACE,
                      K.DSP_DW_PLANE_INPLACE))
SCRATCH = "tinyc_dsp_scratch"
DECODED = "tinyc_dsp_decoded"  # a packed filter decoded into the matmul's layout (TINYC_DSP_CONV_PACKED_S8)
MAX_KH = 16  # TINYC_DSP_MAX_KH, TINYC_DSP_DW_MAX_KH


# the reference kernels of the five ops the optimized sets cover, normal and in place: every macro an
# optimized kernel declares it replaces
COVERED = tuple(sorted({m for k in K.all_kernels() for m in k.replaces}))
SET_NAMES = {"arm_mve": "Helium", "arm_dsp": "DSP"}


@dataclasses.dataclass(frozen=True)
class KernelChoice:
    """The kernel one operator's call runs, its kernel set ("arm_mve", "arm_dsp" or "reference"), and for a
    call on a less optimized set than the board's best (or on a reference kernel where the board has an
    optimized set) the reason in words."""

    op_index: int
    op: str
    kernel: str
    kernel_set: str
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"op_index": self.op_index, "op": self.op, "kernel": self.kernel, "kernel_set": self.kernel_set,
                "reason": self.reason}


kernel_set_of = K.kernel_set_of


def _wrap32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def pack_matmul_weights(w: np.ndarray, natural: bool) -> tuple[np.ndarray, int]:
    """Rows [out, K] -> the DSP matmul layout: K padded to K4 (a multiple of 4), rows taken in pairs and
    interleaved by 4-byte chunk (row oc, row oc+1, next chunk...), an odd last row alone. With natural-
    order columns, each chunk is stored b0 b2 b1 b3 so that SXTB16 yields (b0, b1) and (b2, b3)."""
    rows, k = w.shape
    k4 = (k + 3) // 4 * 4
    wp = np.zeros((rows, k4), dtype=np.int8)
    wp[:, :k] = w
    chunks = wp.reshape(rows, k4 // 4, 4)
    if natural:
        chunks = chunks[:, :, [0, 2, 1, 3]]
    parts = []
    pairs = rows // 2
    if pairs:
        parts.append(chunks[:2 * pairs].reshape(pairs, 2, k4 // 4, 4).transpose(0, 2, 1, 3).reshape(-1))
    if rows % 2:
        parts.append(chunks[-1].reshape(-1))
    return np.concatenate(parts).astype(np.int8), k4


FUSED_BOUND = 1 << 23  # |row 1's accumulator| < 2^23: (m - a) = 256 * acc fits in int32


def fuse_pair_values(w: np.ndarray) -> np.ndarray | None:
    """Rows [out, K] (even out) -> per pair the int16 values 256 * w[2p+1] + w[2p], or None where one
    leaves int16 (row 1 at -128 beside a negative row-0 weight)."""
    v = w[1::2].astype(np.int64) * 256 + w[0::2].astype(np.int64)
    return v if v.min(initial=0) >= -(1 << 15) and v.max(initial=0) < 1 << 15 else None


def pack_matmul_fused(w: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Rows [out, K] -> the fused-pair layout of tinyc_dsp_matmul.h (mac_2x2m): K padded to K4, rows taken
    in pairs, per 4-byte chunk two words of int16 halfwords 256 * w1 + w0: word E holds columns (k, k+2),
    word O (k+1, k+3), the lanes SXTB16 gives the input; an odd last row alone in the plain layout. None
    when some pair's values leave int16."""
    rows, k = w.shape
    k4 = (k + 3) // 4 * 4
    wp = np.zeros((rows, k4), dtype=np.int64)
    wp[:, :k] = w
    pairs = rows // 2
    parts = []
    if pairs:
        v = fuse_pair_values(wp[:2 * pairs])
        if v is None:
            return None
        # [pair][chunk][E (k, k+2), O (k+1, k+3)] int16 little-endian
        lanes = v.reshape(pairs, k4 // 4, 4)[:, :, [0, 2, 1, 3]].astype("<i2")
        parts.append(lanes.reshape(-1).view(np.int8))
    if rows % 2:
        parts.append(wp[-1].astype(np.int8))
    return np.concatenate(parts).astype(np.int8), k4


def fused_segment(w1: np.ndarray, k4: int) -> int | None:
    """The most 4-byte chunks per segment that keep every row-1 partial sum of raw int8 inputs (x in
    [-128, 127]) under 2^23 in magnitude (w1: the fused pairs' row-1 weights [pairs, K]): 128 * sum |w| <
    2^23 over each segment. 0: one segment holds all of K; None: not even one chunk does (impossible)."""
    chunks = k4 // 4
    if w1.size == 0:
        return 0
    a = np.zeros((w1.shape[0], k4), dtype=np.int64)
    a[:, :w1.shape[1]] = np.abs(w1)
    per = a.reshape(w1.shape[0], chunks, 4).sum(axis=2)  # [pairs, chunks]
    limit = FUSED_BOUND // 128
    for seg in range(chunks, 0, -1):
        n = (chunks + seg - 1) // seg
        padded = np.zeros((per.shape[0], n * seg), dtype=np.int64)
        padded[:, :chunks] = per
        if padded.reshape(per.shape[0], n, seg).sum(axis=2).max() < limit:
            return 0 if seg == chunks else seg
    return None


def pack_fc_vec(w: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """FULLY_CONNECTED rows [out, K] -> the one-batch layout of fully_connected_arm_dsp.c: K padded to K4;
    blocks of 4 rows as two fused pairs interleaved by chunk [chunk][A: E, O][B: E, O]; then a fused pair
    [chunk][E, O] (out % 4 >= 2) and a plain last row (odd out). Also the segment length (fused_segment).
    None when a pair's values leave int16."""
    rows, k = w.shape
    k4 = (k + 3) // 4 * 4
    wp = np.zeros((rows, k4), dtype=np.int64)
    wp[:, :k] = w
    chunks = k4 // 4
    npairs = rows // 2
    v = fuse_pair_values(wp[:2 * npairs])
    if v is None:
        return None
    lanes = v.reshape(npairs, chunks, 4)[:, :, [0, 2, 1, 3]]  # [pair][chunk][E0 E1 O0 O1]
    quads = rows // 4
    parts = []
    if quads:
        parts.append(lanes[:2 * quads].reshape(quads, 2, chunks, 4).transpose(0, 2, 1, 3).reshape(-1))
    if npairs > 2 * quads:
        parts.append(lanes[-1].reshape(-1))
    packed = np.concatenate(parts).astype("<i2").view(np.int8) if parts else np.zeros(0, dtype=np.int8)
    if rows % 2:
        packed = np.concatenate([packed, wp[-1].astype(np.int8)])
    seg = fused_segment(wp[1:2 * npairs:2, :k], k4)
    if seg is None:
        return None
    return packed.astype(np.int8), k4, seg


def pack_depthwise_weights(w: np.ndarray) -> np.ndarray:
    """Depthwise weights [taps, C] -> the DSP layout: whole groups of 4 channels [C/4][taps][4], then the
    last C % 4 channels one after the other [tail][taps]."""
    taps, c = w.shape
    c4 = c // 4 * 4
    parts = [w[:, :c4].reshape(taps, c4 // 4, 4).transpose(1, 0, 2).reshape(-1), w[:, c4:].T.reshape(-1)]
    return np.concatenate(parts).astype(np.int8)


def pack_depthwise_wide(w: np.ndarray) -> np.ndarray:
    """Depthwise weights [taps, C] (C % 4 == 0) -> the common loop's layout: per group of 4 channels and tap
    the int16 pairs (2 w0, 2 w2), (2 w1, 2 w3) ([C/4][taps][c0, c2, c1, c3]), doubled for SMMULR."""
    taps, c = w.shape
    g = (2 * np.asarray(w, dtype=np.int64)).reshape(taps, c // 4, 4).transpose(1, 0, 2)[:, :, [0, 2, 1, 3]]
    return g.reshape(-1).astype(np.int16)


def depthwise_as_conv(p: dict[str, Any], wv: np.ndarray) -> np.ndarray:
    """A DEPTHWISE_CONV_2D with one input channel is a CONV_2D with out_c = depth multiplier: its filter
    [1, k_h, k_w, out_c] as conv rows [out_c, k_h * k_w] (im2col order, one input channel)."""
    return wv.reshape(p["k_h"] * p["k_w"], p["out_c"]).T


class _Specializer:
    SET = "arm_dsp"

    def __init__(self, lowered: LoweredModel, decode_limit: int | None = None,
                 portable: dict[int, str] | None = None, resident=()):
        self.m = lowered
        self.consts: dict[str, ConstArray] = {c.name: c for c in lowered.consts}
        self.scratch = 0  # bytes
        self.decoded = 0  # bytes of DECODED: the largest packed filter in the matmul's layout, and two rows
        # the board's fit (tinyc.codegen.footprint.fit_packed): the most DECODED may take, and the calls that
        # keep their reference kernels (op index -> why)
        self.decode_limit = decode_limit
        self.portable = dict(portable or {})
        # --weights packed-ram: the packed calls whose filter tinyc_model_init() decodes into a buffer of its own
        self.resident = frozenset(resident or ())
        self.init_calls: list[KernelCall] = []
        self.resident_bytes = 0
        self.specialized: list[int] = []
        self.notes: dict[int, list[str]] = {}  # op index -> why a kernel set did not take it

    def values(self, operand) -> np.ndarray | None:
        """A constant operand's values (None: not a plain constant array)."""
        c = self.consts.get(operand.name) if isinstance(operand, Const) and operand.cast is None else None
        return None if c is None else np.asarray(c.values, dtype=np.int64)

    def add_const(self, name: str, ctype: str, values) -> str:
        self.consts[name] = ConstArray(name, ctype, tuple(int(v) for v in np.asarray(values).reshape(-1)))
        return name

    def handlers(self) -> dict[K.Kernel, Callable[[KernelCall], KernelCall | str | None]]:
        """Reference kernel -> the method that rewrites such a call (a string: why it does not)."""
        return {K.CONV2D: self.conv, K.FULLY_CONNECTED: self.fc, K.DEPTHWISE_CONV2D: self.dwconv, K.ADD: self.add,
                K.AVG_POOL: self.avg_pool, K.CONV2D_POINTWISE_INPLACE: self.conv_pointwise_inplace,
                K.ADD_INPLACE: self.add_inplace, K.CONV2D_INPLACE: self.conv_rows_inplace,
                K.DEPTHWISE_CONV2D_INPLACE: self.dwconv_inplace, K.CONV2D_PACKED: self.conv_packed,
                **({K.DEPTHWISE_CONV2D_PACKED: self.dw_packed} if self.resident else {}),
                K.FULLY_CONNECTED_PACKED: self.fc_packed}

    def declared(self, set_name: str) -> dict[K.Kernel, Callable[[KernelCall], KernelCall | str | None]]:
        """Reference kernel -> the rewrite of a kernel of ``set_name`` declared with its own ``specialize`` (an
        operator's variant, tinyc/operators/ or a user's folder)."""
        out = {}
        for k in K.all_kernels():
            if k.specialize is not None and k.kernel_set.value == set_name:
                for r in k.replaces:
                    out.setdefault(K.get(r), functools.partial(k.specialize, self))
        return out

    def rewrite(self, calls, handlers, done: list[int], set_name: str) -> list[KernelCall]:
        """``calls`` with every call a handler covers rewritten (the set's own handlers first, then the
        declared variants); their operator indices go to ``done``, the reasons of the others to ``notes``."""
        handlers = {**self.declared(set_name), **handlers}
        out = []
        for call in calls:
            handler = handlers.get(call.kernel)
            if handler is not None and call.index in self.portable:
                notes = self.notes.setdefault(call.index, [])
                if self.portable[call.index] not in notes:  # the Helium set's pass, then the DSP one's
                    notes.append(self.portable[call.index])
                out.append(call)
                continue
            new = handler(call) if handler else None
            if isinstance(new, KernelCall):
                done.append(call.index)
                out.append(new)
                continue
            if handler is not None:
                why = new or "not covered"
                self.notes.setdefault(call.index, []).append(f"{SET_NAMES.get(set_name, set_name)}: {why}")
            out.append(call)
        return out

    @staticmethod
    def declare_scratch(calls: list[KernelCall], name: str, nbytes: int, what: str) -> list[KernelCall]:
        """Declare the static scratch array ``name`` beside the first call that uses it."""
        if not nbytes:
            return calls
        buf = StaticBuffer(name, "int32_t", (nbytes + 3) // 4, what)
        first = next(i for i, c in enumerate(calls) if name in set(c.statics()))
        calls = list(calls)
        calls[first] = dataclasses.replace(calls[first], buffers=calls[first].buffers + (buf,))
        return calls

    def run(self) -> LoweredModel:
        calls = self.rewrite(self.m.calls, self.handlers(), self.specialized, "arm_dsp")
        calls = self.declare_scratch(calls, SCRATCH, self.scratch,
                                     "DSP kernels' scratch (im2col columns, tap pointers)")
        calls = self.declare_scratch(calls, DECODED, self.decoded, "packed filters decoded for the DSP matmul")
        used = {name for c in (*self.init_calls, *calls) for name in c.consts()}
        consts = tuple(c for c in self.consts.values() if c.name in used)
        weight_scratch = self.m.weight_scratch
        if weight_scratch and not any(WEIGHT_SCRATCH in set(c.statics()) for c in calls):
            # every packed call decodes into DECODED now: the reference kernels' one-channel buffer goes
            calls = [dataclasses.replace(c, buffers=tuple(b for b in c.buffers if b.name != WEIGHT_SCRATCH))
                     for c in calls]
            weight_scratch = 0
        if self.decoded:
            weight_scratch += (self.decoded + 3) // 4 * 4
        weight_scratch += self.resident_bytes
        init = (*self.m.init_calls, *self.init_calls)
        return dataclasses.replace(self.m, calls=tuple(calls), consts=consts, weight_scratch=weight_scratch,
                                   init_calls=init, kernels=tuple(sorted({c.macro for c in (*init, *calls)})))

    def choices(self, calls, best: str) -> tuple[KernelChoice, ...]:
        """What each call runs, and why where it is not on the ``best`` set."""
        out = []
        for c in calls:
            kset = c.kernel.kernel_set.value
            reason = None
            if kset != best:
                notes = self.notes.get(c.index)
                if notes:
                    reason = "; ".join(notes)
                elif c.kernel.packed and kset == "reference":
                    reason = "weights stored packed: only the portable kernel decodes them"
                elif c.kernel.packed:
                    reason = f"{SET_NAMES.get(best, best)}: packed weights run the {SET_NAMES.get(kset, kset)} kernel"
                elif kset != "reference":
                    reason = f"{SET_NAMES.get(best, best)}: no kernel for {c.op}"
            out.append(KernelChoice(c.index, c.op, c.macro, kset, reason))
        return tuple(out)

    # --- requantization -----------------------------------------------------------------------------------

    @staticmethod
    def requant(amin, amax, mult, shift, p: dict[str, Any]) -> RQ.Requant | str:
        return RQ.plan(amin, amax, list(mult), list(shift), int(p["out_offset"]), int(p["act_min"]),
                       int(p["act_max"]))

    def proven(self, w: np.ndarray, bias, mult, shift, p: dict[str, Any]):
        """(bias values, zeros where the model has none; the requantization proven exact on every accumulator,
        partial sums included, of rows ``w`` [out, K] with the input offset), or why there is none."""
        b = np.zeros(w.shape[0], dtype=np.int64) if bias is None else bias
        amin, amax = RQ.bounds(b, w, p["in_offset"])
        rq = self.requant(amin, amax, mult, shift, p)
        return rq if isinstance(rq, str) else (b, rq)

    def q_const(self, name: str, rq: RQ.Requant) -> Const:
        """The per-channel table, passed as tinyc_dsp_q_t * (the general form's records are
        tinyc_dsp_qx_t; the kernel's params say which)."""
        return Const(self.add_const(name, "int32_t", rq.flat()), "const tinyc_dsp_q_t *")

    # --- CONV_2D / FULLY_CONNECTED -> one matrix-multiply kernel ----------------------------------------

    def _matmul(self, call: KernelCall, p: dict[str, Any], w: np.ndarray, bias, mult, shift, x, y):
        """w: [out_c, K] int8 weights in im2col order (ky, kx, ic)."""
        out_c, k = w.shape
        off = p["in_offset"]
        natural = p["in_c"] % 4 != 0
        b = np.zeros(out_c, dtype=np.int64) if bias is None else bias
        amin, amax = RQ.bounds(b, w, off)
        # in_c % 4 != 0: columns in natural order, each kernel row of k_w * in_c bytes padded with zero
        # weights to a multiple of 4 (read straight from the input rows: natural 2) where that adds no chunk,
        # else the rows packed back to back (gathered, natural 1)
        row = p["k_w"] * p["in_c"]
        r4 = (row + 3) // 4 * 4
        if natural and p["k_h"] * r4 <= (k + 3) // 4 * 4:
            natural = 2
            wr = np.zeros((out_c, p["k_h"], r4), dtype=np.int64)
            wr[:, :, :row] = np.asarray(w, dtype=np.int64).reshape(out_c, p["k_h"], row)
            w = wr.reshape(out_c, -1)
            k = w.shape[1]
        rq = self.requant(amin, amax, mult, shift, p)
        if isinstance(rq, str):
            return rq
        folded = [_wrap32(int(b[o]) + off * int(w[o].sum())) for o in range(out_c)]
        # fused row pairs where every pair's row 1 keeps |acc| < 2^23 (and its values int16)
        fused = pack_matmul_fused(w) if out_c >= 2 and all(
            -FUSED_BOUND <= amin[o] and amax[o] < FUSED_BOUND for o in range(1, out_c - out_c % 2, 2)) else None
        if fused is not None:
            packed, k4 = fused
            for o in range(0, out_c - 1, 2):
                folded[o + 1] = _wrap32(folded[o] + 256 * folded[o + 1])
        else:
            packed, k4 = pack_matmul_weights(w.astype(np.int8), natural=False)  # columns are widened by SXTB16
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_dsp_w", "int8_t", packed)
        bn = self.add_const(f"tinyc_op{n}_dsp_bias", "int32_t", folded)
        qn = self.q_const(f"tinyc_op{n}_dsp_q", rq)
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], in_c=p["in_c"], out_h=p["out_h"],
                      out_w=p["out_w"], out_c=out_c, k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"],
                      stride_w=p["stride_w"], dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"],
                      pad_w=p["pad_w"], col_len=k, col_len4=k4, natural=int(natural), pad_value=-off,
                      act_min=p["act_min"], act_max=p["act_max"], **rq.params())
        if fused is not None:
            params["fused"] = 1
        # 2 int16 columns (+ int8: one kernel row, natural 2; the gathered rows and a word past them, natural 1)
        self.scratch = max(self.scratch, 4 * k4 + {0: 0, 1: k4 + 4, 2: r4}[int(natural)])
        return call.to(K.DSP_CONV, params, input=x, weights=Const(wn), bias=Const(bn), requant=qn, output=y,
                       scratch=Static(SCRATCH, "int16_t *"))

    def _arrays(self, call: KernelCall):
        """(input, weights, bias, multipliers, shifts, output) of a reference call, the constants as values (an
        in-place call's input and output are its IO); None where they are not plain constant arrays."""
        b = call[Role.BIAS]
        wv, mv, sv = (self.values(call[r]) for r in (Role.WEIGHTS, Role.MULTIPLIERS, Role.SHIFTS))
        bv = None if isinstance(b, Null) else self.values(b)
        if wv is None or mv is None or sv is None or (not isinstance(b, Null) and bv is None):
            return None  # not plain constant arrays (e.g. packed weights): leave the call alone
        io = call[Role.IO] if call.has(Role.IO) else None
        return io or call[Role.INPUT], wv, bv, mv, sv, io or call[Role.OUTPUT]

    def conv(self, call: KernelCall):
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"]:
            return f"grouped convolution (filter depth {p['filter_in_c']}, {p['in_c']} input channels)"
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        x, wv, bv, mv, sv, y = arrays
        w = wv.reshape(p["out_c"], p["k_h"] * p["k_w"] * p["in_c"])
        return self._matmul(call, p, w, bv, mv, sv, x, y)

    def conv_rows_inplace(self, call: KernelCall):
        """An in-place CONV_2D with the plan's row ring -> the matmul reading its columns through the ring
        (tinyc_arm_dsp_conv_rows_inplace_s8: at most 16 kernel rows)."""
        if dict(call.params)["k_h"] > MAX_KH:
            return f"kernel height {dict(call.params)['k_h']} > {MAX_KH} in place"
        new = self.conv(call)
        if not isinstance(new, KernelCall):
            return new
        return new.to(K.DSP_CONV_ROWS_INPLACE, ring_rows=call[Role.RING_ROWS], io=call[Role.IO], ring=call[Role.RING])

    def conv_pointwise_inplace(self, call: KernelCall):
        """An in-place 1x1 CONV_2D (the plan's pixel scheme) -> the matmul run in place. It widens two
        pixels into the static DSP scratch before storing their outputs, so the plan's one-pixel buffer
        is not read (it stays reserved: the arena is the plan's)."""
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"]:
            return f"grouped convolution (filter depth {p['filter_in_c']}, {p['in_c']} input channels)"
        if p["batches"] != 1:
            return f"{p['batches']} batches in place"
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        io, wv, bv, mv, sv, _ = arrays
        wm = wv.reshape(p["out_c"], p["in_c"])
        new = self._matmul(call, p, wm, bv, mv, sv, io, io)
        if not isinstance(new, KernelCall):
            return new
        return new.to(K.DSP_CONV_PW_INPLACE, io=io)

    def fc_as_conv(self, call: KernelCall):
        """A FULLY_CONNECTED call as the 1x1 convolution the matmul kernels run: (conv params, x, weights
        [out, K], bias, multipliers, shifts, y), or the reason it is not (a filter zero point, packed
        weights)."""
        p = dict(call.params)
        if p["filter_offset"] != 0:
            return f"filter zero point {-p['filter_offset']}"
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        x, wv, bv, mv, sv, y = arrays
        w = wv.reshape(p["out_depth"], p["accum_depth"])
        conv = dict(batches=1, in_h=1, in_w=p["batches"], in_c=p["accum_depth"], out_h=1, out_w=p["batches"],
                    k_h=1, k_w=1, stride_h=1, stride_w=1, dil_h=1, dil_w=1, pad_h=0, pad_w=0,
                    in_offset=p["in_offset"], out_offset=p["out_offset"], act_min=p["act_min"],
                    act_max=p["act_max"])
        n = p["out_depth"] if p["per_channel"] else 1
        return conv, x, w, bv, mv[:n], sv[:n], y

    def fc(self, call: KernelCall):
        args = self.fc_as_conv(call)
        if isinstance(args, str):
            return args
        conv, x, w, bv, mv, sv, y = args
        if conv["in_w"] == 1:  # one batch: the matrix-vector kernel
            new = self._fc_vec(call, conv, w, bv, mv, sv, x, y)
            if new is not None:
                return new
        return self._matmul(call, conv, w, bv, mv, sv, x, y)  # batches as pixels of a 1x1 convolution

    def _fc_vec(self, call: KernelCall, p: dict[str, Any], w: np.ndarray, bias, mult, shift, x, y):
        """One batch of FULLY_CONNECTED (tinyc_arm_dsp_fc_s8, vec): fused 4-row blocks, K in segments that
        keep row 1's sums exact, the input widened once into the scratch when three or more blocks (or a
        K that is not a multiple of 4) read it. None when the weights do not fuse (the matmul takes it)."""
        out_c, k = w.shape
        off = p["in_offset"]
        proof = self.proven(w, bias, mult, shift, p)
        if isinstance(proof, str):
            return proof
        b, rq = proof
        packed = pack_fc_vec(w)
        if packed is None:
            return None
        wq, k4, seg = packed
        folded = [_wrap32(int(b[o]) + off * int(w[o].sum())) for o in range(out_c)]
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_dsp_w", "int8_t", wq)
        bn = self.add_const(f"tinyc_op{n}_dsp_bias", "int32_t", folded)
        qn = self.q_const(f"tinyc_op{n}_dsp_q", rq)
        wide = out_c // 4 >= 3 or k % 4 != 0
        params = dict(batches=1, in_h=1, in_w=1, in_c=k, out_h=1, out_w=1, out_c=out_c, k_h=1, k_w=1, stride_h=1,
                      stride_w=1, dil_h=1, dil_w=1, col_len=k, col_len4=k4, pad_value=-off, act_min=p["act_min"],
                      act_max=p["act_max"], **rq.params(), vec=2 if wide else 1)
        if seg:
            params["seg"] = seg
        scr = Null()
        if wide:
            self.scratch = max(self.scratch, 2 * k4)  # the input as SXTB16 pairs
            scr = Static(SCRATCH, "int16_t *")
        return call.to(K.DSP_FC, params, input=x, weights=Const(wn), bias=Const(bn), requant=qn, output=y, scratch=scr)

    # --- packed CONV_2D / FULLY_CONNECTED -> the matmul on the filter decoded once per call ------------------

    def unpacked(self, call: KernelCall) -> np.ndarray | None:
        """A packed call's filter as the int8 values its blob decodes to, flat in the blob's stream order
        (output-channel-major filters: row-major), or None where the blob is not a plain constant."""
        from tinyc.model import packing

        c = self.consts.get(call[Role.WEIGHTS].name) if isinstance(call[Role.WEIGHTS], Const) else None
        if c is None:
            return None
        data = np.asarray(c.values, dtype=np.int64).astype(np.uint8).tobytes()
        _, _, _, n_ch, length = packing.HEADER.unpack_from(data, 0)
        return packing.unpack(data, (n_ch, length), None).reshape(-1).astype(np.int64)

    def dense_twin(self, call: KernelCall, kernel: K.Kernel, values) -> KernelCall:
        """``call`` (a packed one) on the reference ``kernel`` with the dense filter ``values`` as a new
        constant, for the set's dense rewrite to lay out."""
        tmp = self.add_const(f"tinyc_op{call.index}_unpacked_w", "int8_t", values)
        return dataclasses.replace(call, kernel=kernel, operands=tuple(
            (r, Const(tmp) if r is Role.WEIGHTS else o) for r, o in call.operands if r is not Role.DECODED))

    def _packed(self, call: KernelCall, dense: Callable[[KernelCall], KernelCall | str | None],
                target: K.Kernel = K.DSP_CONV_PACKED):
        """The dense rewrite of the call with its decoded filter, moved to ``target`` (the set's packed matmul):
        the blob stays the weights operand, the matmul's layout is decoded into DECODED at run time."""
        wv = self.unpacked(call)
        if wv is None:
            return "constants are not plain arrays"
        kernel = K.CONV2D if call.kernel is K.CONV2D_PACKED else K.FULLY_CONNECTED
        new = dense(self.dense_twin(call, kernel, wv))
        if not isinstance(new, KernelCall):
            return new
        need = self.decode_bytes(new, target)
        if isinstance(need, str):
            return need
        if call.index in self.resident:
            decoder = {K.DSP_CONV_PACKED: K.DSP_DECODE_PACKED, K.MVE_CONV_PACKED: K.MVE_DECODE_PACKED}[target]
            return self.resident_call(call, new, need, decoder)
        if self.decode_limit is not None and need > self.decode_limit:
            return (f"decoding the filter for the matmul takes {need:,} B of SRAM, the board leaves "
                    f"{self.decode_limit:,} B")
        self.decoded = max(self.decoded, need)
        return new.to(target, weights=call[Role.WEIGHTS], decoded=Static(DECODED, "int8_t *"))

    def resident_call(self, call: KernelCall, new: KernelCall, need: int, decoder: K.Kernel) -> KernelCall:
        """``new`` (the dense rewrite) reading its filter from a static buffer of its own that ``decoder`` fills
        once, in tinyc_model_init(): ``need`` bytes, the layout and the rows the decoder works in. Nothing runs
        at start-up, so the rows go at the arena's start or in the DSP kernels' scratch where one is large
        enough, else past the layout."""
        layout = self.consts[new[Role.WEIGHTS].name].nbytes
        rows = need - layout
        scratch: Arena | Static | Null = Null()
        if self.m.arena_size >= rows:
            scratch = Arena(0)
        elif self.scratch >= rows:  # only grows: a call that uses it declares it (the one-batch FC's widened input)
            scratch = Static(SCRATCH, "int8_t *")
        nbytes = ((need if isinstance(scratch, Null) else layout) + 3) // 4 * 4
        buf = f"tinyc_op{call.index}_decoded"
        self.init_calls.append(new.to(decoder, weights=call[Role.WEIGHTS], decoded=Static(buf, "int8_t *"),
                                      scratch=scratch))
        self.resident_bytes += nbytes
        what = f"op {call.index}'s packed filter, decoded at start-up (--weights packed-ram)"
        return dataclasses.replace(new.to(new.kernel, weights=Static(buf, "const int8_t *")),
                                   buffers=new.buffers + (StaticBuffer(buf, "int32_t", nbytes // 4, what),))

    def decode_bytes(self, new: KernelCall, target: K.Kernel) -> int | str:
        """DECODED bytes the packed kernel needs for ``new`` (the dense rewrite): the layout and two rows."""
        if new.kernel is not K.DSP_CONV and not (new.kernel is K.DSP_FC and new.index in self.resident):
            return f"no packed form of {new.macro}"
        return len(self.consts[new[Role.WEIGHTS].name].values) + 2 * dict(new.params)["col_len4"]

    def conv_packed(self, call: KernelCall):
        return self._packed(call, self.conv)

    def dw_packed(self, call: KernelCall, dense: Callable[[KernelCall], KernelCall | str | None] | None = None,
                  decoders: dict | None = None):
        """A packed DEPTHWISE_CONV_2D is decoded per call by the portable kernel; with --weights packed-ram its
        filter is decoded once into the layout of the set's depthwise kernel (of the matmul, for one input
        channel and a depth multiplier), which then runs on it. ``dense``: the set's depthwise rewrite;
        ``decoders``: its dense kernel -> (the set's packed matmul whose decode it shares, or None, decoder)."""
        if call.index not in self.resident:
            return "a packed depthwise filter is decoded per call by the portable kernel"
        dense = dense or self.dwconv
        decoders = decoders or {K.DSP_CONV: (K.DSP_CONV_PACKED, K.DSP_DECODE_PACKED),
                                K.DSP_DWCONV: (None, K.DSP_DECODE_DW_PACKED)}
        wv = self.unpacked(call)
        if wv is None:
            return "constants are not plain arrays"
        p = dict(call.params)
        taps, c = p["k_h"] * p["k_w"], p["out_c"]
        new = dense(self.dense_twin(call, K.DEPTHWISE_CONV2D, wv.reshape(c, taps).T))  # [kh, kw, C]
        if not isinstance(new, KernelCall):
            return new
        if new.kernel not in decoders:
            return f"no packed form of {new.macro}"
        matmul, decoder = decoders[new.kernel]
        need = self.decode_bytes(new, matmul) if matmul is not None else \
            self.consts[new[Role.WEIGHTS].name].nbytes + (taps + 3) // 4 * 4
        return need if isinstance(need, str) else self.resident_call(call, new, need, decoder)

    def fc_packed(self, call: KernelCall):
        def matmul(c: KernelCall):
            if call.index in self.resident:  # decoded once: the one-batch kernel's layout where it applies
                return self.fc(c)
            args = self.fc_as_conv(c)
            if isinstance(args, str):
                return args
            conv, x, w, bv, mv, sv, y = args
            return self._matmul(c, conv, w, bv, mv, sv, x, y)

        return self._packed(call, matmul)

    # --- DEPTHWISE_CONV_2D ------------------------------------------------------------------------------

    def dw_as_conv(self, call: KernelCall):
        """A depthwise call with one input channel (any depth multiplier) as the CONV_2D it is: the same
        call (normal or in place) with conv parameters and the filter transposed into a new constant."""
        p = dict(call.params)
        wv = self.values(call[Role.WEIGHTS])
        if wv is None:
            return None
        wn = self.add_const(f"tinyc_op{call.index}_conv_w", "int8_t", depthwise_as_conv(p, wv))
        conv = {k: v for k, v in p.items() if k != "depth_multiplier"} | dict(filter_in_c=1)
        return call.to(call.kernel, conv, weights=Const(wn))

    def _dw(self, call: KernelCall, p, x, wv, bv, mv, sv, y):
        """Depthwise weights [taps, C] (C = out_c; a depth multiplier > 1 reads input channel c / mult)."""
        c, taps = p["out_c"], p["k_h"] * p["k_w"]
        mult = p["depth_multiplier"]
        if p["k_h"] > MAX_KH:
            return f"kernel height {p['k_h']} > {MAX_KH}"
        w = wv.reshape(taps, c)
        proof = self.proven(w.T, None if bv is None else bv[:c], mv, sv, p)
        if isinstance(proof, str):
            return proof
        b, rq = proof
        n = call.index
        if mult <= 1 and c % 4 == 0 and not rq.general:  # the common loop: weights widened and doubled
            wn = Const(self.add_const(f"tinyc_op{n}_dsp_w", "int16_t", pack_depthwise_wide(w)), "const int8_t *")
            folded = [_wrap32(2 * (int(b[i]) + p["in_offset"] * int(w[:, i].sum()))) for i in range(c)]
            bn = Const(self.add_const(f"tinyc_op{n}_dsp_bias", "int32_t", folded))
        else:
            wn = Const(self.add_const(f"tinyc_op{n}_dsp_w", "int8_t", pack_depthwise_weights(w)))
            bn = Const(self.add_const(f"tinyc_op{n}_dsp_bias", "int32_t", b)) if bv is None else call[Role.BIAS]
        qn = self.q_const(f"tinyc_op{n}_dsp_q", rq)
        # tap pointers and offsets (<= 8 B each), a row of zero points, and with a depth multiplier the
        # k_h input rows expanded to C channels with their row numbers
        need = 16 * taps + (c + 3) // 4 * 4
        if mult > 1:
            need += 4 * MAX_KH + p["k_h"] * p["in_w"] * c
        self.scratch = max(self.scratch, need)
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], channels=c, out_h=p["out_h"],
                      out_w=p["out_w"], k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"], stride_w=p["stride_w"],
                      dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"], pad_w=p["pad_w"],
                      in_offset=p["in_offset"], act_min=p["act_min"], act_max=p["act_max"], **rq.params())
        if mult > 1:
            params["mult"] = mult
        return call.to(K.DSP_DWCONV, params, input=x, weights=wn, bias=bn, requant=qn, output=y,
                       scratch=Static(SCRATCH, "void *"))

    def dwconv(self, call: KernelCall):
        p = dict(call.params)
        if p["in_c"] == 1 and p["depth_multiplier"] > 1:  # a plain convolution
            conv = self.dw_as_conv(call)
            if conv is None:
                return "constants are not plain arrays"
            return self.conv(conv)
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        return self._dw(call, p, *arrays)

    def plane_constants(self, call: KernelCall):
        """An in-place depthwise call's weights [taps, C], bias (zeros when the model has none) and
        requantization proven exact for every partial sum, or the reason there is none; shared by the DSP
        and MVE plane kernels."""
        p = dict(call.params)
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        _, wv, bv, mv, sv, _ = arrays
        c, taps = p["in_c"], p["k_h"] * p["k_w"]
        wt = wv.reshape(taps, c)
        proof = self.proven(wt.T, None if bv is None else bv[:c], mv[:c], sv[:c], p)
        return proof if isinstance(proof, str) else (wt, *proof)

    def dwconv_inplace(self, call: KernelCall):
        """An in-place DEPTHWISE_CONV_2D. Rows scheme: one input channel -> the matmul over the ring
        (tinyc_arm_dsp_conv_rows_inplace_s8); else the DSP depthwise loop over tap pointers into the plan's
        row ring (any channel count and depth multiplier). Plane scheme: one channel plane at a time in the
        plan's plane buffer (any channel count), weights [C][taps]; 3x3 filters run two outputs per SMLAD
        pair."""
        p = dict(call.params)
        if call[Role.RING_ROWS].value != 0:  # 0: the plane scheme
            if p["in_c"] == 1 and p["depth_multiplier"] > 1:
                conv = self.dw_as_conv(call)
                if conv is None:
                    return "constants are not plain arrays"
                return self.conv_rows_inplace(conv)
            arrays = self._arrays(call)
            if arrays is None:
                return "constants are not plain arrays"
            if p["batches"] != 1:
                return f"{p['batches']} batches in place"
            new = self._dw(call, p, *arrays)
            if not isinstance(new, KernelCall):
                return new
            return new.to(K.DSP_DW_ROWS_INPLACE, ring_rows=call[Role.RING_ROWS], io=call[Role.IO],
                          ring=call[Role.RING])
        if p["depth_multiplier"] != 1 or p["batches"] != 1:
            return "plane scheme with a depth multiplier or batches"  # the plan never makes one
        consts = self.plane_constants(call)
        if isinstance(consts, str):
            return consts
        wt, bias, rq = consts
        c = p["in_c"]
        n = call.index
        wn = Const(self.add_const(f"tinyc_op{n}_dsp_w", "int8_t", wt.T.reshape(-1)))
        b = call[Role.BIAS]
        bn = Const(self.add_const(f"tinyc_op{n}_dsp_bias", "int32_t", bias)) if isinstance(b, Null) else b
        qn = self.q_const(f"tinyc_op{n}_dsp_q", rq)
        params = dict(batches=1, in_h=p["in_h"], in_w=p["in_w"], channels=c, out_h=p["out_h"],
                      out_w=p["out_w"], k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"], stride_w=p["stride_w"],
                      dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"], pad_w=p["pad_w"],
                      in_offset=p["in_offset"], act_min=p["act_min"], act_max=p["act_max"], **rq.params())
        return call.to(K.DSP_DW_PLANE_INPLACE, params, weights=wn, bias=bn, requant=qn)

    # --- ADD ----------------------------------------------------------------------------------------------

    def add_inplace(self, call: KernelCall):
        """The table ADD is safe in place: element i is read before it is written."""
        new = self.add(call)
        return new.to(K.DSP_ADD_INPLACE) if isinstance(new, KernelCall) else new

    @staticmethod
    def add_input_tables(p) -> list[list[int]]:
        """Each input's 256 values rescaled to the common scale as TFLite does, doubled (for SMMULR)."""
        from tinyc.codegen import quant as Q

        tables = []
        for i in (1, 2):
            off, m, s = p[f"in{i}_offset"], p[f"in{i}_multiplier"], p[f"in{i}_shift"]
            tables.append([2 * Q.multiply_by_quantized_multiplier((x + off) << 20, m, s) for x in range(-128, 128)])
        return tables

    def add(self, call: KernelCall):
        p = dict(call.params)
        if p["left_shift"] != 20:
            return f"left shift {p['left_shift']}"
        tables = self.add_input_tables(p)
        # the sum (t1 + t2) / 2 over all pairs of inputs
        lo_sum = (min(tables[0]) + min(tables[1])) // 2
        hi_sum = (max(tables[0]) + max(tables[1])) // 2
        rq = self.requant([lo_sum], [hi_sum], [p["out_multiplier"]], [p["out_shift"]], p)
        if isinstance(rq, str):
            return rq.replace("channel 0", "the output")
        n = call.index
        t1 = self.add_const(f"tinyc_op{n}_dsp_t1", "int32_t", tables[0])
        t2 = self.add_const(f"tinyc_op{n}_dsp_t2", "int32_t", tables[1])
        params = dict(size=p["size"])
        if rq.general:
            mult, lsh, bias, add, r = rq.channels[0]
            params.update(out_mult=mult, out_add=add, out_rshift=r, act_min=p["act_min"], act_max=p["act_max"],
                          general=1, out_lsh=lsh, out_bias=bias, out_zp=rq.zp)
        else:
            (mult, add, r), = rq.channels
            params.update(out_mult=mult, out_add=add, out_rshift=r, act_min=p["act_min"], act_max=p["act_max"])
        if not p["flat"]:  # broadcast: the output walked in row-major order, each input by its strides
            params.update(bcast=1, out_dims=list(p["out_dims"]), in1_strides=list(p["in1_strides"]),
                          in2_strides=list(p["in2_strides"]))
        return call.to(K.DSP_ADD, params, table1=Const(t1), table2=Const(t2))

    # --- AVERAGE_POOL_2D ---------------------------------------------------------------------------------

    def avg_pool(self, call: KernelCall):
        """The reference's parameters as they are: windows summed four channels at a time in int16 lanes,
        which holds any window of at most 256 values."""
        p = dict(call.params)
        if p["k_h"] * p["k_w"] > 256:
            return f"a {p['k_h']}x{p['k_w']} window sums more than 256 values (int16 lanes)"
        return call.to(K.DSP_AVG_POOL)


@dataclasses.dataclass(frozen=True)
class Specialization:
    lowered: LoweredModel
    specialized: tuple[int, ...]  # operator indices now on optimized kernels
    scratch_bytes: int  # static im2col buffer (RAM outside the arena)
    flash_delta: int  # constant bytes after minus before
    choices: tuple[KernelChoice, ...] = ()  # per call, in call order: kernel, kernel set, reason


def specialize(lowered: LoweredModel, variant: str, scratch_limit: int | None = None,
               portable: dict[int, str] | None = None, resident=()) -> Specialization:
    """Rewrite the calls the ``variant`` kernel set covers; other variants pass through unchanged.
    ``scratch_limit`` and ``portable`` come from tinyc.codegen.footprint's fit to the board's SRAM and flash:
    the most static scratch a kernel may take (the scalar Arm set: its im2col chunks; the DSP and Helium sets:
    a packed filter decoded for the matmul), and the layers that keep their reference kernels, with why.
    ``resident``: the packed layers whose filter tinyc_model_init() decodes into RAM of its own (the DSP and
    Helium sets; --weights packed-ram), which then run the dense matmul."""
    if variant == "arm_mve":  # Helium first, then this module's DSP specialization (specialize_mve.py)
        from tinyc.codegen.specialize_mve import specialize_mve

        return specialize_mve(lowered, scratch_limit, portable, resident)
    if variant == "arm_scalar":  # the cores without the DSP extension (specialize_arm_scalar.py)
        from tinyc.codegen.specialize_arm_scalar import specialize_arm_scalar

        return specialize_arm_scalar(lowered, scratch_limit, portable)
    if variant != "arm_dsp":
        return Specialization(lowered, (), 0, 0, tuple(KernelChoice(c.index, c.op, c.macro, "reference")
                                                        for c in lowered.calls))
    s = _Specializer(lowered, scratch_limit, portable, resident)
    out = s.run()
    return Specialization(out, tuple(s.specialized), (s.scratch + 3) // 4 * 4,
                          out.weights_bytes - lowered.weights_bytes, s.choices(out.calls, "arm_dsp"))
