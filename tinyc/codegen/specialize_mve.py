"""Specialize lowered kernel calls for the Helium (MVE) kernel set of the Cortex-M55.

The M55 has the DSP extension too, so the set is a chain: the calls the MVE kernels cover are
rewritten here first (weights re-packed for VMLADAVA's 16-byte chunks, the input zero point folded
into the bias, the requantization proven exact with specialize._fast_requant, whose argument holds
lane by lane for VRMULH), then the DSP specializer (tinyc/codegen/specialize.py) takes what is left;
a call kind it does not know either keeps its reference kernel. The output is bit-identical
whichever kernel a call ends up on.

Re-packing pads each weight row to a multiple of 16 bytes and the output channels to a multiple of 4
(zero rows); the requantization constants take 12 bytes per channel (padded to 4 channels).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyc.codegen.lower import KernelCall, LoweredModel
from tinyc.codegen.specialize import Specialization, _fast_requant, _Specializer, _wrap32, _xmax

MVE_CONV = "TINYC_MVE_CONV_S8"
MVE_FC = "TINYC_MVE_FC_S8"  # the same kernel, copied as fully_connected_arm_mve.c
MVE_CONV_PW_INPLACE = "TINYC_MVE_CONV_POINTWISE_INPLACE_S8"
MVE_CONV_ROWS_INPLACE = "TINYC_MVE_CONV_ROWS_INPLACE_S8"
MVE_DWCONV = "TINYC_MVE_DEPTHWISE_CONV_S8"
MVE_DW_ROWS_INPLACE = "TINYC_MVE_DEPTHWISE_ROWS_INPLACE_S8"
MVE_DW_PLANE_INPLACE = "TINYC_MVE_DEPTHWISE_PLANE_INPLACE_S8"
MVE_ADD = "TINYC_MVE_ADD_S8"
MVE_ADD_INPLACE = "TINYC_MVE_ADD_INPLACE_S8"  # reads elements i..i+3 of both inputs before writing them
MVE_KERNELS = (MVE_CONV, MVE_FC, MVE_CONV_PW_INPLACE, MVE_CONV_ROWS_INPLACE, MVE_DWCONV, MVE_DW_ROWS_INPLACE,
               MVE_DW_PLANE_INPLACE, MVE_ADD, MVE_ADD_INPLACE)
SCRATCH = "tinyc_mve_scratch"
MAX_KH = 16  # TINYC_MVE_MAX_KH


def pack_mve_weights(w: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows [out, K] -> the MVE matmul layout: rows padded to a multiple of 4 (zero rows) and K to K16
    (a multiple of 16, zeros), then for each group of 4 rows, chunk q (16 bytes) of each row in turn."""
    rows, k = w.shape
    k16 = (k + 15) // 16 * 16
    rows4 = (rows + 3) // 4 * 4
    wp = np.zeros((rows4, k16), dtype=np.int8)
    wp[:rows, :k] = w
    return wp.reshape(rows4 // 4, 4, k16 // 16, 16).transpose(0, 2, 1, 3).reshape(-1), k16


def q4_table(q: list[tuple[int, int, int]]) -> list[int]:
    """(mult, add, rshift) per channel -> tinyc_mve_q4_t per 4 channels: mult[4], add[4], -rshift[4]
    (padding channels get zeros: their lanes are never stored)."""
    q = list(q) + [(0, 0, 0)] * (-len(q) % 4)
    out = []
    for g in range(0, len(q), 4):
        grp = q[g:g + 4]
        out += [t[0] for t in grp] + [t[1] for t in grp] + [-t[2] for t in grp]
    return out


class _MveSpecializer(_Specializer):
    def __init__(self, lowered: LoweredModel):
        super().__init__(lowered)
        self.mve_scratch = 0  # bytes
        self.mve_specialized: list[int] = []

    def run(self) -> LoweredModel:
        mve = {"TINYC_CONV2D_S8": self.mve_conv, "TINYC_FULLY_CONNECTED_S8": self.mve_fc,
               "TINYC_CONV2D_POINTWISE_INPLACE_S8": self.mve_pointwise_inplace,
               "TINYC_CONV2D_INPLACE_S8": self.mve_conv_rows_inplace, "TINYC_DEPTHWISE_CONV2D_S8": self.mve_dwconv,
               "TINYC_DEPTHWISE_CONV2D_INPLACE_S8":
                   lambda c: self.mve_dwconv_rows_inplace(c) or self.mve_dwconv_plane_inplace(c),
               "TINYC_ADD_S8": self.mve_add, "TINYC_ADD_INPLACE_S8": self.mve_add_inplace}
        calls = self.rewrite(self.m.calls, mve, self.mve_specialized)
        calls = self.declare_scratch(calls, SCRATCH, self.mve_scratch, "MVE kernels' scratch (columns, accumulators)")
        self.m = dataclasses.replace(self.m, calls=tuple(calls))
        return super().run()  # the DSP chain on the rest (it leaves the MVE calls as they are)

    # --- CONV_2D / FULLY_CONNECTED -> the MVE matrix multiply ------------------------------------------

    def _mve_matmul(self, call: KernelCall, p: dict, w: np.ndarray, bias, mult, shift, x: str, y: str,
                    scratch: bool):
        """w: [out_c, K] int8 weights in im2col order (ky, kx, ic); ``scratch``: the kernel gathers or
        copies its columns (two of col_len16 bytes)."""
        out_c, k = w.shape
        off = p["in_offset"]
        b = np.zeros(out_c, dtype=np.int64) if bias is None else bias
        bounds = np.abs(b) + np.abs(w).sum(axis=1) * _xmax(off)
        if len(mult) == 1:
            mult, shift = list(mult) * out_c, list(shift) * out_c
        q = _fast_requant(bounds, mult, shift, p["out_offset"])
        if q is None:
            return None
        packed, k16 = pack_mve_weights(w.astype(np.int8))
        folded = [_wrap32(int(b[o]) + off * int(w[o].sum())) for o in range(out_c)]
        folded += [0] * (-out_c % 4)
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_mve_w", "int8_t", packed)
        bn = self.add_const(f"tinyc_op{n}_mve_bias", "int32_t", folded)
        qn = self.add_const(f"tinyc_op{n}_mve_q", "int32_t", q4_table(q))
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], in_c=p["in_c"], out_h=p["out_h"],
                      out_w=p["out_w"], out_c=out_c, k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"],
                      stride_w=p["stride_w"], dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"],
                      pad_w=p["pad_w"], col_len=k, col_len16=k16, pad_value=-off, act_min=p["act_min"],
                      act_max=p["act_max"])
        scr = "NULL"
        if scratch:
            self.mve_scratch = max(self.mve_scratch, 2 * k16)
            scr = f"(int8_t *){SCRATCH}"
        args = (x, wn, bn, f"(const tinyc_mve_q4_t *){qn}", y, scr)
        return dataclasses.replace(call, kernel=MVE_CONV, params_type="tinyc_mve_conv_params_t",
                                   params=tuple(params.items()), args=args)

    def mve_conv(self, call: KernelCall):
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"] or p["k_h"] > MAX_KH:
            return None
        arrays = self._arrays(call)
        if arrays is None:
            return None
        x, wv, bv, mv, sv, y = arrays
        w = wv.reshape(p["out_c"], p["k_h"] * p["k_w"] * p["in_c"])
        direct = p["k_h"] == 1 and p["k_w"] == 1 and p["pad_h"] == 0 and p["pad_w"] == 0
        return self._mve_matmul(call, p, w, bv, mv, sv, x, y, scratch=not direct)

    def mve_fc(self, call: KernelCall):
        args = self.fc_as_conv(call)
        if args is None:
            return None
        conv, x, w, bv, mv, sv, y = args
        new = self._mve_matmul(call, conv, w, bv, mv, sv, x, y, scratch=False)
        return None if new is None else dataclasses.replace(new, kernel=MVE_FC)

    def mve_pointwise_inplace(self, call: KernelCall):
        """An in-place 1x1 CONV_2D (the plan's pixel scheme): the kernel copies each pixel pair into the
        static MVE scratch before storing its outputs (the plan's one-pixel buffer stays reserved)."""
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"] or p["batches"] != 1:
            return None
        io, w, b, m, s, _ = call.args
        arrays = self._arrays(dataclasses.replace(call, args=(io, w, b, m, s, io)))
        if arrays is None:
            return None
        _, wv, bv, mv, sv, _ = arrays
        new = self._mve_matmul(call, p, wv.reshape(p["out_c"], p["in_c"]), bv, mv, sv, io, io, scratch=True)
        if new is None:
            return None
        _, wn, bn, qn, _, scr = new.args
        return dataclasses.replace(new, kernel=MVE_CONV_PW_INPLACE, args=(io, wn, bn, qn, scr))

    def mve_conv_rows_inplace(self, call: KernelCall):
        """An in-place CONV_2D with the plan's row ring: the matmul gathering its columns through the ring."""
        rows, io, w, b, m, s, ring = call.args
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"] or p["k_h"] > MAX_KH or p["batches"] != 1:
            return None
        arrays = self._arrays(dataclasses.replace(call, args=(io, w, b, m, s, io)))
        if arrays is None:
            return None
        _, wv, bv, mv, sv, _ = arrays
        wm = wv.reshape(p["out_c"], p["k_h"] * p["k_w"] * p["in_c"])
        new = self._mve_matmul(call, p, wm, bv, mv, sv, io, io, scratch=True)
        if new is None:
            return None
        _, wn, bn, qn, _, scr = new.args
        return dataclasses.replace(new, kernel=MVE_CONV_ROWS_INPLACE, args=(rows, io, wn, bn, qn, scr, ring))

    # --- DEPTHWISE_CONV_2D ------------------------------------------------------------------------------

    def mve_dwconv(self, call: KernelCall):
        """Depth multiplier 1, channels % 4 == 0: the model's [taps][C] weights as they are, the input
        offset folded into the bias (a padded tap reads the input zero point, which adds -in_offset * w)."""
        p = dict(call.params)
        c = p["in_c"]
        if p["depth_multiplier"] != 1 or c % 4 != 0 or p["k_h"] > MAX_KH:
            return None
        if p["dil_h"] != 1 or p["dil_w"] != 1:  # the kernel handles dilation, but no zoo model checks it on MVE
            return None
        arrays = self._arrays(call)
        if arrays is None:
            return None
        x, wv, bv, mv, sv, y = arrays
        w = wv.reshape(p["k_h"] * p["k_w"], c)
        b = np.zeros(c, dtype=np.int64) if bv is None else bv[:c]
        bounds = np.abs(b) + np.abs(w).sum(axis=0) * _xmax(p["in_offset"])
        if len(mv) == 1:
            mv, sv = list(mv) * c, list(sv) * c
        q = _fast_requant(bounds, mv[:c], sv[:c], p["out_offset"])
        if q is None:
            return None
        n = call.index
        folded = [_wrap32(int(b[i]) + p["in_offset"] * int(w[:, i].sum())) for i in range(c)]
        bn = self.add_const(f"tinyc_op{n}_mve_bias", "int32_t", folded)
        qn = self.add_const(f"tinyc_op{n}_mve_q", "int32_t", q4_table(q))
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], channels=c, out_h=p["out_h"],
                      out_w=p["out_w"], k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"], stride_w=p["stride_w"],
                      dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"], pad_w=p["pad_w"],
                      in_offset=p["in_offset"], act_min=p["act_min"], act_max=p["act_max"])
        self.mve_scratch = max(self.mve_scratch, 5 * c)  # int32 accumulators, a row of zero points
        args = (x, call.args[1], bn, f"(const tinyc_mve_q4_t *){qn}", y, f"(void *){SCRATCH}")
        return dataclasses.replace(call, kernel=MVE_DWCONV, params_type="tinyc_mve_dwconv_params_t",
                                   params=tuple(params.items()), args=args)

    def mve_dwconv_rows_inplace(self, call: KernelCall):
        """An in-place DEPTHWISE_CONV_2D with the plan's row ring (the "rows" scheme: a non-zero ring row
        count); any other in-place scheme stays with the DSP chain."""
        if len(call.args) != 7 or call.args[0] == "0":
            return None
        rows, io, w, b, m, s, ring = call.args
        if dict(call.params)["batches"] != 1:
            return None
        new = self.mve_dwconv(dataclasses.replace(call, args=(io, w, b, m, s, io)))
        if new is None:
            return None
        _, wn, bn, qn, _, scr = new.args
        return dataclasses.replace(new, kernel=MVE_DW_ROWS_INPLACE, args=(rows, io, wn, bn, qn, scr, ring))

    def mve_dwconv_plane_inplace(self, call: KernelCall):
        """An in-place DEPTHWISE_CONV_2D with the plan's plane buffer (the "plane" scheme: ring rows "0"),
        3x3, dilation 1, along an axis with stride 1, padding 1 and out == in: the one with fewer output
        vectors of 4 (rows on a tie). The buffer is the plan's, as for the DSP kernel; other geometries
        keep the DSP plane kernel."""
        if len(call.args) != 7 or call.args[0] != "0":
            return None
        _, io, w, b, m, s, scr = call.args
        p = dict(call.params)
        if p["depth_multiplier"] != 1 or p["batches"] != 1 or (p["k_h"], p["k_w"], p["dil_h"], p["dil_w"]) != (3, 3, 1, 1):
            return None
        c, ih, iw = p["in_c"], p["in_h"], p["in_w"]
        ok_w = p["stride_w"] == 1 and p["pad_w"] == 1 and p["out_w"] == iw
        ok_h = p["stride_h"] == 1 and p["pad_h"] == 1 and p["out_h"] == ih
        vec_w = p["out_h"] * -(-iw // 4) if ok_w else None
        vec_h = p["out_w"] * -(-ih // 4) if ok_h else None
        if vec_w is None and vec_h is None:
            return None
        along_h = vec_w is None or (vec_h is not None and vec_h < vec_w)
        if 7 * (iw * c if along_h else c) >= 1 << 16:  # the gather's 16-bit offsets
            return None
        consts = self.plane_constants(call)
        if consts is None:
            return None
        wt, bias, q = consts
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_mve_w", "int8_t", wt.T.reshape(-1))
        bn = self.add_const(f"tinyc_op{n}_mve_bias", "int32_t", bias) if b == "NULL" else b
        qn = self.add_const(f"tinyc_op{n}_mve_q", "int32_t", [v for t in q for v in t])
        params = dict(in_h=ih, in_w=iw, channels=c, out_h=p["out_h"], out_w=p["out_w"], stride_h=p["stride_h"],
                      stride_w=p["stride_w"], pad_h=p["pad_h"], pad_w=p["pad_w"], along_h=int(along_h),
                      in_offset=p["in_offset"], act_min=p["act_min"], act_max=p["act_max"])
        return dataclasses.replace(call, kernel=MVE_DW_PLANE_INPLACE, params_type="tinyc_mve_dwplane_params_t",
                                   params=tuple(params.items()), args=(io, wn, bn, qn, scr))

    # --- ADD ----------------------------------------------------------------------------------------------

    def mve_add_inplace(self, call: KernelCall):
        """The MVE ADD reads elements i..i+3 of both inputs before writing them: safe in place."""
        new = self.mve_add(call)
        return None if new is None else dataclasses.replace(new, kernel=MVE_ADD_INPLACE)

    def mve_add(self, call: KernelCall):
        """Same-shape ADD: each input's rescale step as the kernel computes it (a left shift, VQRDMULH, a
        rounding right shift by e >= 1) is checked against TFLite's on all 256 input values; the output
        requantization is proven with _fast_requant on the largest possible sum."""
        from tinyc.codegen import quant as Q

        p = dict(call.params)
        if not p["flat"] or p["left_shift"] != 20:
            return None
        params = dict(size=p["size"])
        for i in (1, 2):
            off, m, sh = p[f"in{i}_offset"], int(p[f"in{i}_multiplier"]), int(p[f"in{i}_shift"])
            if sh > 0 or sh < -31 or not 0 <= m < 1 << 31:
                return None
            ls, e = (20, -sh) if sh < 0 else (21, 1)  # no right shift: one more bit in, then one out
            for x in range(-128, 128):
                v = (2 * ((x + off) << ls) * m + (1 << 31)) >> 32  # VQRDMULH (|a| < 2^30: no saturation)
                want = Q.multiply_by_quantized_multiplier((x + off) << 20, m, sh)
                if (v + (v >> 31) + (1 << (e - 1))) >> e != want:
                    return None
            params.update({f"in{i}_offset": off, f"in{i}_lshift": ls, f"in{i}_mult": m, f"in{i}_half": 1 << (e - 1),
                           f"in{i}_rshift": e})
        b1 = max(abs(Q.multiply_by_quantized_multiplier((x + p["in1_offset"]) << 20, p["in1_multiplier"],
                                                         p["in1_shift"])) for x in range(-128, 128))
        b2 = max(abs(Q.multiply_by_quantized_multiplier((x + p["in2_offset"]) << 20, p["in2_multiplier"],
                                                         p["in2_shift"])) for x in range(-128, 128))
        q = _fast_requant([b1 + b2], [p["out_multiplier"]], [p["out_shift"]], p["out_offset"])
        if q is None:
            return None
        (mult, add, r), = q
        params.update(out_mult=mult, out_add=add, out_rshift=r, act_min=p["act_min"], act_max=p["act_max"])
        return dataclasses.replace(call, kernel=MVE_ADD, params_type="tinyc_mve_add_params_t",
                                   params=tuple(params.items()), args=call.args)


def specialize_mve(lowered: LoweredModel) -> Specialization:
    """The MVE kernels where they apply, then the DSP specialization on the remaining calls."""
    s = _MveSpecializer(lowered)
    out = s.run()
    scratch = (s.scratch + 3) // 4 * 4 + (s.mve_scratch + 3) // 4 * 4
    return Specialization(out, tuple(sorted(s.specialized + s.mve_specialized)), scratch,
                          out.weights_bytes - lowered.weights_bytes)
