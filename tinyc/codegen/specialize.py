"""Specialize lowered kernel calls for an optimized kernel set (today: the Arm DSP extension).

The generator knows every shape and constant, so work the reference kernels redo at run time is done
here once: weights are re-packed for the kernel's access pattern, the input zero point is folded into
the bias (bias' = bias + in_offset * sum(w), CONV_2D / FULLY_CONNECTED), and the requantization is
reduced to SMMULR + one rounding shift after proving, per output channel, that it equals TFLite's
MultiplyByQuantizedMultiplier on every input the layer can see (see tinyc_rt_arm_dsp.h). A call whose
shape the kernels do not cover, or whose requantization cannot be proven exact, keeps its reference
kernel: the output is bit-identical either way.

Re-packing keeps the weights' size except where a row is padded to a multiple of 4 bytes; the
per-channel requantization constants grow from 8 to 12 bytes (``flash_delta`` says by how much).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable

import numpy as np

from tinyc.codegen.lower import ConstArray, KernelCall, LoweredModel

DSP_CONV = "TINYC_DSP_CONV_S8"
DSP_FC = "TINYC_DSP_FC_S8"  # the same kernel, copied as fully_connected_arm_dsp.c
DSP_DWCONV = "TINYC_DSP_DEPTHWISE_CONV_S8"
DSP_ADD = "TINYC_DSP_ADD_S8"
DSP_CONV_PW_INPLACE = "TINYC_DSP_CONV_POINTWISE_INPLACE_S8"  # in place (tinyc/codegen/inplace.py)
DSP_DW_ROWS_INPLACE = "TINYC_DSP_DEPTHWISE_ROWS_INPLACE_S8"
DSP_CONV_ROWS_INPLACE = "TINYC_DSP_CONV_ROWS_INPLACE_S8"
DSP_ADD_INPLACE = "TINYC_DSP_ADD_INPLACE_S8"  # element i read before it is written: safe in place
DSP_DW_PLANE_INPLACE = "TINYC_DSP_DEPTHWISE_PLANE_INPLACE_S8"
SCRATCH = "tinyc_dsp_scratch"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _wrap32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _fast_requant(bounds, mult, shift, out_zp: int):
    """Per-channel (mult, add, rshift) for tinyc_dsp_requant, or None when some channel is not provably
    exact: it needs |acc| < 2^30 (so 2*acc fits SMMULR), a right shift >= 1, and no overflow adding
    the rounding constant and the output zero point."""
    out = []
    for b, m, s in zip(bounds, mult, shift):
        m, s, b = int(m), int(s), int(b)
        if s > -1 or s < -31 or not 0 <= m < 1 << 31 or b >= 1 << 30:
            return None
        r = -s
        add = (1 << (r - 1)) + (out_zp << r)
        v_max = b + 1  # |SMMULR(2 acc, m)| <= |acc| + 1 for m < 2^31
        if v_max + 1 + abs(add) >= 1 << 31:
            return None
        out.append((m, add, r))
    return out


def _xmax(in_offset: int) -> int:
    """The largest |x + in_offset| over int8 x."""
    return max(abs(-128 + in_offset), abs(127 + in_offset))


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


class _Specializer:
    def __init__(self, lowered: LoweredModel):
        self.m = lowered
        self.consts: dict[str, ConstArray] = {c.name: c for c in lowered.consts}
        self.scratch = 0  # bytes
        self.specialized: list[int] = []

    def values(self, name: str) -> np.ndarray | None:
        c = self.consts.get(name)
        return None if c is None else np.asarray(c.values, dtype=np.int64)

    def add_const(self, name: str, ctype: str, values) -> str:
        self.consts[name] = ConstArray(name, ctype, tuple(int(v) for v in np.asarray(values).reshape(-1)))
        return name

    def handlers(self) -> dict[str, Callable[[KernelCall], KernelCall | None]]:
        """Reference kernel macro -> the method that rewrites such a call (None: not covered)."""
        return {"TINYC_CONV2D_S8": self.conv, "TINYC_FULLY_CONNECTED_S8": self.fc,
                "TINYC_DEPTHWISE_CONV2D_S8": self.dwconv, "TINYC_ADD_S8": self.add,
                "TINYC_CONV2D_POINTWISE_INPLACE_S8": self.conv_pointwise_inplace,
                "TINYC_ADD_INPLACE_S8": self.add_inplace, "TINYC_CONV2D_INPLACE_S8": self.conv_rows_inplace,
                "TINYC_DEPTHWISE_CONV2D_INPLACE_S8": self.dwconv_inplace}

    def rewrite(self, calls, handlers, done: list[int]) -> list[KernelCall]:
        """``calls`` with every call a handler covers rewritten; their operator indices go to ``done``."""
        out = []
        for call in calls:
            handler = handlers.get(call.kernel)
            new = handler(call) if handler else None
            if new is not None:
                done.append(call.index)
            out.append(new or call)
        return out

    @staticmethod
    def declare_scratch(calls: list[KernelCall], name: str, nbytes: int, what: str) -> list[KernelCall]:
        """Declare the static scratch array ``name`` beside the first call that uses it."""
        if not nbytes:
            return calls
        words = (nbytes + 3) // 4
        decl = f"static int32_t {name}[{words}]; /* {what}: {words * 4} bytes */"
        first = next(i for i, c in enumerate(calls) if any(name in _IDENT.findall(a) for a in c.args))
        calls = list(calls)
        calls[first] = dataclasses.replace(calls[first], extra=calls[first].extra + (decl,))
        return calls

    def run(self) -> LoweredModel:
        calls = self.rewrite(self.m.calls, self.handlers(), self.specialized)
        calls = self.declare_scratch(calls, SCRATCH, self.scratch,
                                     "DSP kernels' scratch (im2col columns, tap pointers)")
        used = set()
        for c in calls:
            for text in (*c.args, *c.extra):
                used.update(_IDENT.findall(text))
        consts = tuple(c for c in self.consts.values() if c.name in used)
        return dataclasses.replace(self.m, calls=tuple(calls), consts=consts,
                                   kernels=tuple(sorted({c.kernel for c in calls})))

    # --- CONV_2D / FULLY_CONNECTED -> one matrix-multiply kernel ----------------------------------------

    def _matmul(self, call: KernelCall, p: dict[str, Any], w: np.ndarray, bias, mult, shift, x: str, y: str):
        """w: [out_c, K] int8 weights in im2col order (ky, kx, ic)."""
        out_c, k = w.shape
        off = p["in_offset"]
        natural = p["in_c"] % 4 != 0
        b = np.zeros(out_c, dtype=np.int64) if bias is None else bias
        bounds = np.abs(b) + np.abs(w).sum(axis=1) * _xmax(off)
        if len(mult) == 1:  # per-tensor: the kernels read one entry per channel all the same
            mult, shift = list(mult) * out_c, list(shift) * out_c
        q = _fast_requant(bounds, mult, shift, p["out_offset"])
        if q is None:
            return None
        packed, k4 = pack_matmul_weights(w.astype(np.int8), natural=False)  # columns are widened by SXTB16
        folded = [_wrap32(int(b[o]) + off * int(w[o].sum())) for o in range(out_c)]
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_dsp_w", "int8_t", packed)
        bn = self.add_const(f"tinyc_op{n}_dsp_bias", "int32_t", folded)
        qn = self.add_const(f"tinyc_op{n}_dsp_q", "int32_t", [v for t in q for v in t])
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], in_c=p["in_c"], out_h=p["out_h"],
                      out_w=p["out_w"], out_c=out_c, k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"],
                      stride_w=p["stride_w"], dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"],
                      pad_w=p["pad_w"], col_len=k, col_len4=k4, natural=int(natural), pad_value=-off,
                      act_min=p["act_min"], act_max=p["act_max"])
        self.scratch = max(self.scratch, 4 * k4 + (k4 if natural else 0))  # 2 int16 columns (+ 1 int8 one)
        args = (x, wn, bn, f"(const tinyc_dsp_q_t *){qn}", y, f"(int16_t *){SCRATCH}")
        return dataclasses.replace(call, kernel=DSP_CONV, params_type="tinyc_dsp_conv_params_t",
                                   params=tuple(params.items()), args=args)

    def _arrays(self, call: KernelCall):
        x, w, b, m, s, y = call.args
        wv, mv, sv = self.values(w), self.values(m), self.values(s)
        bv = None if b == "NULL" else self.values(b)
        if wv is None or mv is None or sv is None or (b != "NULL" and bv is None):
            return None  # not plain constant arrays (e.g. packed weights): leave the call alone
        return x, wv, bv, mv, sv, y

    def conv(self, call: KernelCall):
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"]:
            return None  # grouped convolution
        arrays = self._arrays(call)
        if arrays is None:
            return None
        x, wv, bv, mv, sv, y = arrays
        w = wv.reshape(p["out_c"], p["k_h"] * p["k_w"] * p["in_c"])
        return self._matmul(call, p, w, bv, mv, sv, x, y)

    def conv_rows_inplace(self, call: KernelCall):
        """An in-place CONV_2D with the plan's row ring -> the matmul reading its columns through the ring
        (tinyc_arm_dsp_conv_rows_inplace_s8: at most 16 kernel rows)."""
        rows, io, w, b, m, s, scr = call.args
        if dict(call.params)["k_h"] > 16:
            return None
        new = self.conv(dataclasses.replace(call, args=(io, w, b, m, s, io)))
        if new is None:
            return None
        _, wn, bn, qn, _, dsp_scr = new.args
        return dataclasses.replace(new, kernel=DSP_CONV_ROWS_INPLACE, args=(rows, io, wn, bn, qn, dsp_scr, scr))

    def conv_pointwise_inplace(self, call: KernelCall):
        """An in-place 1x1 CONV_2D (the plan's pixel scheme) -> the matmul run in place. It widens two
        pixels into the static DSP scratch before storing their outputs, so the plan's one-pixel buffer
        is not read (it stays reserved: the arena is the plan's)."""
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"] or p["in_c"] % 4 != 0 or p["batches"] != 1:
            return None
        io, w, b, m, s, _ = call.args
        arrays = self._arrays(dataclasses.replace(call, args=(io, w, b, m, s, io)))
        if arrays is None:
            return None
        _, wv, bv, mv, sv, _ = arrays
        wm = wv.reshape(p["out_c"], p["in_c"])
        new = self._matmul(call, p, wm, bv, mv, sv, io, io)
        if new is None:
            return None
        x, wn, bn, qn, _, scr = new.args
        return dataclasses.replace(new, kernel=DSP_CONV_PW_INPLACE, args=(io, wn, bn, qn, scr))

    def fc_as_conv(self, call: KernelCall):
        """A FULLY_CONNECTED call as the 1x1 convolution the matmul kernels run: (conv params, x, weights
        [out, K], bias, multipliers, shifts, y), or None (a filter offset, or not plain constants)."""
        p = dict(call.params)
        if p["filter_offset"] != 0:
            return None
        arrays = self._arrays(call)
        if arrays is None:
            return None
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
        if args is None:
            return None
        conv, x, w, bv, mv, sv, y = args
        new = self._matmul(call, conv, w, bv, mv, sv, x, y)
        return None if new is None else dataclasses.replace(new, kernel=DSP_FC)

    # --- DEPTHWISE_CONV_2D ------------------------------------------------------------------------------

    def dwconv(self, call: KernelCall):
        p = dict(call.params)
        c = p["in_c"]
        if p["depth_multiplier"] != 1 or c % 4 != 0:
            return None
        arrays = self._arrays(call)
        if arrays is None:
            return None
        x, wv, bv, mv, sv, y = arrays
        w = wv.reshape(p["k_h"] * p["k_w"], c)
        b = np.zeros(c, dtype=np.int64) if bv is None else bv
        bounds = np.abs(b) + np.abs(w).sum(axis=0) * _xmax(p["in_offset"])
        q = _fast_requant(bounds, mv, sv, p["out_offset"])
        if q is None:
            return None
        n = call.index
        taps = p["k_h"] * p["k_w"]
        packed = w.reshape(taps, c // 4, 4).transpose(1, 0, 2).reshape(-1)  # [C/4][taps][4]
        wn = self.add_const(f"tinyc_op{n}_dsp_w", "int8_t", packed)
        bn = self.add_const(f"tinyc_op{n}_dsp_bias", "int32_t", b) if bv is None else call.args[2]
        self.scratch = max(self.scratch, 16 * taps + (c + 3) // 4 * 4)  # tap pointers, offsets (<= 8 B each), a zp row
        qn = self.add_const(f"tinyc_op{n}_dsp_q", "int32_t", [v for t in q for v in t])
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], channels=c, out_h=p["out_h"],
                      out_w=p["out_w"], k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"], stride_w=p["stride_w"],
                      dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"], pad_w=p["pad_w"],
                      in_offset=p["in_offset"], act_min=p["act_min"], act_max=p["act_max"])
        args = (x, wn, bn, f"(const tinyc_dsp_q_t *){qn}", y, f"(void *){SCRATCH}")
        return dataclasses.replace(call, kernel=DSP_DWCONV, params_type="tinyc_dsp_dwconv_params_t",
                                   params=tuple(params.items()), args=args)


    def plane_constants(self, call: KernelCall):
        """An in-place depthwise call's weights [taps, C], bias (zeros when the model has none) and
        per-channel requantization proven exact for every partial sum, or None; shared by the DSP and MVE
        plane kernels."""
        _, io, w, b, m, s, _ = call.args
        p = dict(call.params)
        arrays = self._arrays(dataclasses.replace(call, args=(io, w, b, m, s, io)))
        if arrays is None:
            return None
        _, wv, bv, mv, sv, _ = arrays
        c, taps = p["in_c"], p["k_h"] * p["k_w"]
        wt = wv.reshape(taps, c)
        bias = np.zeros(c, dtype=np.int64) if bv is None else bv[:c]
        bounds = np.abs(bias) + np.abs(wt).sum(axis=0) * _xmax(p["in_offset"])  # any partial sum too
        if len(mv) == 1:
            mv, sv = list(mv) * c, list(sv) * c
        q = _fast_requant(bounds, mv[:c], sv[:c], p["out_offset"])
        return None if q is None else (wt, bias, q)

    def dwconv_inplace(self, call: KernelCall):
        """An in-place DEPTHWISE_CONV_2D. Rows scheme: the DSP depthwise loop over tap pointers into the
        plan's row ring (channels % 4 == 0). Plane scheme: one channel plane at a time in the plan's
        plane buffer (any channel count), weights [C][taps]; 3x3 filters run two outputs per SMLAD pair."""
        rows, io, w, b, m, s, scr = call.args
        if rows != "0":
            new = self.dwconv(dataclasses.replace(call, args=(io, w, b, m, s, io)))
            if new is None:
                return None
            _, wn, bn, qn, _, dsp_scr = new.args
            return dataclasses.replace(new, kernel=DSP_DW_ROWS_INPLACE, args=(rows, io, wn, bn, qn, dsp_scr, scr))
        p = dict(call.params)
        if p["depth_multiplier"] != 1 or p["batches"] != 1:
            return None
        consts = self.plane_constants(call)
        if consts is None:
            return None
        wt, bias, q = consts
        c = p["in_c"]
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_dsp_w", "int8_t", wt.T.reshape(-1))
        bn = self.add_const(f"tinyc_op{n}_dsp_bias", "int32_t", bias) if b == "NULL" else b
        qn = self.add_const(f"tinyc_op{n}_dsp_q", "int32_t", [v for t in q for v in t])
        params = dict(batches=1, in_h=p["in_h"], in_w=p["in_w"], channels=c, out_h=p["out_h"],
                      out_w=p["out_w"], k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"], stride_w=p["stride_w"],
                      dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"], pad_w=p["pad_w"],
                      in_offset=p["in_offset"], act_min=p["act_min"], act_max=p["act_max"])
        return dataclasses.replace(call, kernel=DSP_DW_PLANE_INPLACE, params_type="tinyc_dsp_dwconv_params_t",
                                   params=tuple(params.items()),
                                   args=(io, wn, bn, f"(const tinyc_dsp_q_t *){qn}", scr))

    # --- ADD ----------------------------------------------------------------------------------------------

    def add_inplace(self, call: KernelCall):
        """The table ADD is safe in place: element i is read before it is written."""
        new = self.add(call)
        return None if new is None else dataclasses.replace(new, kernel=DSP_ADD_INPLACE)

    def add(self, call: KernelCall):
        from tinyc.codegen import quant as Q

        p = dict(call.params)
        if not p["flat"] or p["left_shift"] != 20:
            return None
        tables = []
        for i in (1, 2):
            off, m, s = p[f"in{i}_offset"], p[f"in{i}_multiplier"], p[f"in{i}_shift"]
            tables.append([2 * Q.multiply_by_quantized_multiplier((x + off) << 20, m, s) for x in range(-128, 128)])
        bound = max(abs(v) for v in tables[0]) // 2 + max(abs(v) for v in tables[1]) // 2
        q = _fast_requant([bound], [p["out_multiplier"]], [p["out_shift"]], p["out_offset"])
        if q is None:
            return None
        n = call.index
        t1 = self.add_const(f"tinyc_op{n}_dsp_t1", "int32_t", tables[0])
        t2 = self.add_const(f"tinyc_op{n}_dsp_t2", "int32_t", tables[1])
        (mult, add, r), = q
        params = dict(size=p["size"], out_mult=mult, out_add=add, out_rshift=r, act_min=p["act_min"],
                      act_max=p["act_max"])
        return dataclasses.replace(call, kernel=DSP_ADD, params_type="tinyc_dsp_add_params_t",
                                   params=tuple(params.items()), args=(*call.args, t1, t2))


@dataclasses.dataclass(frozen=True)
class Specialization:
    lowered: LoweredModel
    specialized: tuple[int, ...]  # operator indices now on optimized kernels
    scratch_bytes: int  # static im2col buffer (RAM outside the arena)
    flash_delta: int  # constant bytes after minus before


def specialize(lowered: LoweredModel, variant: str) -> Specialization:
    """Rewrite the calls the ``variant`` kernel set covers; other variants pass through unchanged."""
    if variant == "arm_mve":  # Helium first, then this module's DSP specialization (specialize_mve.py)
        from tinyc.codegen.specialize_mve import specialize_mve

        return specialize_mve(lowered)
    if variant != "arm_dsp":
        return Specialization(lowered, (), 0, 0)
    s = _Specializer(lowered)
    out = s.run()
    return Specialization(out, tuple(s.specialized), (s.scratch + 3) // 4 * 4,
                          out.weights_bytes - lowered.weights_bytes)
