"""Specialize lowered kernel calls for the Helium (MVE) kernel set of the Cortex-M55.

The M55 has the DSP extension too, so the set is a chain: the calls the MVE kernels cover are
rewritten here first (weights re-packed for VMLADAVA's 16-byte chunks, the input zero point folded
into the bias, the requantization chosen and proven exact per channel by tinyc/codegen/requant.py, whose
arithmetic holds lane by lane for VRMULH), then the DSP specializer (tinyc/codegen/specialize.py) takes
what is left; a call kind it does not know either keeps its reference kernel. Why a call left the Helium
set is recorded (``Specialization.choices``). The output is bit-identical whichever kernel a call ends up
on.

Re-packing pads each weight row to a multiple of 16 bytes and the output channels to a multiple of 4
(zero rows); the requantization constants take 12 bytes per channel (20 in the general form), padded to
4 channels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinyc.codegen import requant as RQ
from tinyc.codegen import kernels as K
from tinyc.codegen.kernels import Const, KernelCall, Null, Role, Static
from tinyc.codegen.lower import LoweredModel
from tinyc.codegen.specialize import Specialization, _Specializer, _wrap32

# The set's kernel macros (declared in tinyc/codegen/kernels.py); MVE_FC is the matmul, copied as
# fully_connected_arm_mve.c.
(MVE_CONV, MVE_FC, MVE_CONV_PW_INPLACE, MVE_CONV_ROWS_INPLACE, MVE_DWCONV, MVE_DW_ROWS_INPLACE, MVE_DW_PLANE_INPLACE,
 MVE_ADD, MVE_ADD_INPLACE, MVE_AVG_POOL) = (k.macro for k in (
    K.MVE_CONV, K.MVE_FC, K.MVE_CONV_PW_INPLACE, K.MVE_CONV_ROWS_INPLACE, K.MVE_DWCONV, K.MVE_DW_ROWS_INPLACE,
    K.MVE_DW_PLANE_INPLACE, K.MVE_ADD, K.MVE_ADD_INPLACE, K.MVE_AVG_POOL))
MVE_KERNELS = tuple(k.macro for k in K.all_kernels() if k.kernel_set is K.KernelSet.ARM_MVE)
SCRATCH = "tinyc_mve_scratch"
MAX_KH = 16  # TINYC_MVE_MAX_KH, TINYC_MVE_DW_MAX_KH


def pack_mve_weights(w: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows [out, K] -> the MVE matmul layout: rows padded to a multiple of 4 (zero rows) and K to K16
    (a multiple of 16, zeros), then for each group of 4 rows, chunk q (16 bytes) of each row in turn."""
    rows, k = w.shape
    k16 = (k + 15) // 16 * 16
    rows4 = (rows + 3) // 4 * 4
    wp = np.zeros((rows4, k16), dtype=np.int8)
    wp[:rows, :k] = w
    return wp.reshape(rows4 // 4, 4, k16 // 16, 16).transpose(0, 2, 1, 3).reshape(-1), k16


def q4_table(q) -> list[int]:
    """Per-channel requantization -> one record per 4 channels: the fast form's (mult, add, rshift) as
    tinyc_mve_q4_t (mult[4], add[4], -rshift[4]); the general form's (mult, lsh, bias, add, rshift) as
    tinyc_mve_qx4_t (mult[4], lsh[4], bias[4], add[4], -rshift[4]). Padding channels get zeros (their lanes
    are never stored). ``q``: a Requant, or the fast form's tuples."""
    chans = list(q.channels if isinstance(q, RQ.Requant) else q)
    width = len(chans[0]) if chans else 3
    chans += [(0,) * width] * (-len(chans) % 4)
    out = []
    for g in range(0, len(chans), 4):
        grp = chans[g:g + 4]
        for f in range(width):
            out += [(-t[f] if f == width - 1 else t[f]) for t in grp]
    return out


def dwb_ok(params: dict) -> bool:
    """The 3x3 depthwise kernel that runs a channel at a time over padded lines (depthwise_conv2d_arm_mve.c's
    dwb_conv) takes the call: the fast form, no depth multiplier, dilation 1, stride 1 or 2 along the rows,
    gather offsets (7 steps of the element stride) within 16 bits, rows wide enough to fill its vectors."""
    return not params.get("general") and params.get("mult", 0) <= 1 and params["k_h"] == 3 and params["k_w"] == 3 \
        and params["dil_h"] == 1 and params["dil_w"] == 1 and params["stride_w"] in (1, 2) \
        and params["channels"] * 7 * params["stride_w"] < 65536 \
        and params["out_w"] >= DWB_MIN_OUT_W[params["stride_w"]]


# Output rows narrower than this take the four-channel kernel: a channel's per-row work (its lines, a partial
# last vector) outweighs the lanes it fills (measured on person_detect's and VWW's layers in QEMU).
DWB_MIN_OUT_W = {1: 12, 2: 24}


def dwb_lines_safe(in_h: int, in_w: int, out_h: int, out_w: int, s_across: int, pad_across: int,
                   along_h: bool) -> bool:
    """In place (output over input, the same channels), dwb_channel gathers each input line (row, or column
    with ``along_h``) of a channel just before the first output line that reads it: no output line written
    before then may cover any of its pixels (output pixel i overwrites input pixel i)."""
    written = np.zeros(in_h * in_w, dtype=bool)
    n_in, n_out = (in_w, out_w) if along_h else (in_h, out_h)
    loaded = set()
    for r in range(n_out):
        for line in range(r * s_across - pad_across, r * s_across - pad_across + 3):
            if 0 <= line < n_in and line not in loaded:
                pix = np.arange(in_h) * in_w + line if along_h else np.arange(line * in_w, (line + 1) * in_w)
                if written[pix].any():
                    return False
                loaded.add(line)
        out = np.arange(out_h) * out_w + r if along_h else np.arange(r * out_w, (r + 1) * out_w)
        written[out[out < written.size]] = True
    return True


def dwb_pitch(out_len: int, s_along: int) -> int:
    """dwb_init's padded line: stride 1 holds columns 0 .. 4 nv + 1, stride 2 two halves (nv vectors of 4)."""
    nv = (out_len + 3) // 4
    if s_along == 2:
        return 2 * ((4 * nv + 1 + 15) // 16 * 16)
    return (4 * nv + 2 + 15) // 16 * 16


def gather_mode(p: dict, k16: int) -> int:
    """How tinyc_mve_mm4x2 gathers a window inside the input of a (not in place) convolution: 0 copies its k_h
    rows of k_w * in_c bytes (DLSTP, 7 + 3 instructions per 16 bytes of a row), 1 / 2 gathers it by a table of
    8-bit / 16-bit byte offsets (4 instructions per 16 / 8 bytes), whichever is fewer instructions (and the
    offsets fit; rows of dilated taps are not contiguous: the table then or the C gather)."""
    ic, kw, kh = p["in_c"], p["k_w"], p["k_h"]
    span = (kh - 1) * p["dil_h"] * p["in_w"] * ic + (kw - 1) * p["dil_w"] * ic + ic  # the window's byte extent
    rows = kh * (7 + 3 * -(-kw * ic // 16)) if p["dil_w"] == 1 else 1 << 30
    table = {1: 6 + 4 * k16 // 16 if span <= 256 else 1 << 30, 2: 6 + 4 * k16 // 8 if span <= 1 << 16 else 1 << 30}
    best = min(table, key=table.get)
    return best if table[best] < rows else 0


class _MveSpecializer(_Specializer):
    def __init__(self, lowered: LoweredModel, decode_limit: int | None = None,
                 portable: dict[int, str] | None = None, resident=()):
        super().__init__(lowered, decode_limit, portable, resident)
        self.mve_scratch = 0  # bytes
        self.mve_specialized: list[int] = []

    def run(self) -> LoweredModel:
        mve = {K.CONV2D: self.mve_conv, K.FULLY_CONNECTED: self.mve_fc,
               K.CONV2D_POINTWISE_INPLACE: self.mve_pointwise_inplace, K.CONV2D_INPLACE: self.mve_conv_rows_inplace,
               K.DEPTHWISE_CONV2D: self.mve_dwconv, K.DEPTHWISE_CONV2D_INPLACE: self.mve_dwconv_inplace,
               K.ADD: self.mve_add, K.ADD_INPLACE: self.mve_add_inplace, K.AVG_POOL: self.mve_avg_pool,
               K.CONV2D_PACKED: self.mve_conv_packed, K.FULLY_CONNECTED_PACKED: self.mve_fc_packed,
               **({K.DEPTHWISE_CONV2D_PACKED: self.mve_dw_packed} if self.resident else {})}
        calls = self.rewrite(self.m.calls, mve, self.mve_specialized, "arm_mve")
        calls = self.declare_scratch(calls, SCRATCH, self.mve_scratch, "MVE kernels' scratch (columns, accumulators)")
        self.m = dataclasses.replace(self.m, calls=tuple(calls))
        return super().run()  # the DSP chain on the rest (it leaves the MVE calls as they are)

    def q4_const(self, name: str, rq: RQ.Requant) -> Const:
        return Const(self.add_const(name, "int32_t", q4_table(rq)), "const tinyc_mve_q4_t *")

    # --- CONV_2D / FULLY_CONNECTED -> the MVE matrix multiply ------------------------------------------

    def _mve_matmul(self, call: KernelCall, p: dict, w: np.ndarray, bias, mult, shift, x, y,
                    scratch: bool, table: bool = False):
        """w: [out_c, K] int8 weights in im2col order (ky, kx, ic); ``scratch``: the kernel gathers or
        copies its columns (two of col_len16 bytes)."""
        out_c, k = w.shape
        off = p["in_offset"]
        proof = self.proven(w, bias, mult, shift, p)
        if isinstance(proof, str):
            return proof
        b, rq = proof
        packed, k16 = pack_mve_weights(w.astype(np.int8))
        folded = [_wrap32(int(b[o]) + off * int(w[o].sum())) for o in range(out_c)]
        folded += [0] * (-out_c % 4)
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_mve_w", "int8_t", packed)
        bn = Const(self.add_const(f"tinyc_op{n}_mve_bias", "int32_t", folded))
        qn = self.q4_const(f"tinyc_op{n}_mve_q", rq)
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], in_c=p["in_c"], out_h=p["out_h"],
                      out_w=p["out_w"], out_c=out_c, k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"],
                      stride_w=p["stride_w"], dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"],
                      pad_w=p["pad_w"], col_len=k, col_len16=k16, pad_value=-off, act_min=p["act_min"],
                      act_max=p["act_max"], **rq.params())
        scr = Null()
        if scratch:
            need = 2 * k16 + 16  # two columns (and 16 spare bytes)
            mode = gather_mode(p, k16) if table and not rq.general else 0
            if mode:
                params["gather_mode"] = mode
                need += k16 * mode  # the offset table after them
            self.mve_scratch = max(self.mve_scratch, need)
            scr = Static(SCRATCH, "int8_t *")
        return call.to(K.MVE_CONV, params, input=x, weights=Const(wn), bias=bn, requant=qn, output=y,
                       scratch=scr)

    def mve_conv(self, call: KernelCall):
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"]:
            return f"grouped convolution (filter depth {p['filter_in_c']}, {p['in_c']} input channels)"
        if p["k_h"] > MAX_KH:
            return f"kernel height {p['k_h']} > {MAX_KH}"
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        x, wv, bv, mv, sv, y = arrays
        w = wv.reshape(p["out_c"], p["k_h"] * p["k_w"] * p["in_c"])
        direct = p["k_h"] == 1 and p["k_w"] == 1 and p["pad_h"] == 0 and p["pad_w"] == 0
        return self._mve_matmul(call, p, w, bv, mv, sv, x, y, scratch=not direct, table=not direct)

    def mve_fc(self, call: KernelCall):
        args = self.fc_as_conv(call)
        if isinstance(args, str):
            return args
        conv, x, w, bv, mv, sv, y = args
        new = self._mve_matmul(call, conv, w, bv, mv, sv, x, y, scratch=False)
        return new.to(K.MVE_FC) if isinstance(new, KernelCall) else new

    # --- packed CONV_2D / FULLY_CONNECTED -> the matmul on the filter decoded once per call ------------------

    def decode_bytes(self, new: KernelCall, target: K.Kernel) -> int | str:
        """The Helium packed matmul decodes out_c rounded up to 4 rows of col_len16 bytes, and one row."""
        if target is not K.MVE_CONV_PACKED:
            return super().decode_bytes(new, target)
        p = dict(new.params)
        return ((p["out_c"] + 3) // 4 * 4 + 1) * p["col_len16"]

    def mve_conv_packed(self, call: KernelCall):
        return self._packed(call, self.mve_conv, K.MVE_CONV_PACKED)

    def mve_dw_packed(self, call: KernelCall):
        return self.dw_packed(call, self.mve_dwconv, {K.MVE_CONV: (K.MVE_CONV_PACKED, K.MVE_DECODE_PACKED),
                                                       K.MVE_DWCONV: (None, K.MVE_DECODE_DW_PACKED)})

    def mve_fc_packed(self, call: KernelCall):
        return self._packed(call, self.mve_fc, K.MVE_CONV_PACKED)

    def mve_pointwise_inplace(self, call: KernelCall):
        """An in-place 1x1 CONV_2D (the plan's pixel scheme): the kernel copies each pixel pair into the
        static MVE scratch before storing its outputs (the plan's one-pixel buffer stays reserved)."""
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"]:
            return f"grouped convolution (filter depth {p['filter_in_c']}, {p['in_c']} input channels)"
        if p["batches"] != 1:
            return f"{p['batches']} batches in place"
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        io, wv, bv, mv, sv, _ = arrays
        new = self._mve_matmul(call, p, wv.reshape(p["out_c"], p["in_c"]), bv, mv, sv, io, io, scratch=True)
        if not isinstance(new, KernelCall):
            return new
        return new.to(K.MVE_CONV_PW_INPLACE, io=io)

    def mve_conv_rows_inplace(self, call: KernelCall):
        """An in-place CONV_2D with the plan's row ring: the matmul gathering its columns through the ring."""
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"]:
            return f"grouped convolution (filter depth {p['filter_in_c']}, {p['in_c']} input channels)"
        if p["k_h"] > MAX_KH:
            return f"kernel height {p['k_h']} > {MAX_KH} in place"
        if p["batches"] != 1:
            return f"{p['batches']} batches in place"
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        io, wv, bv, mv, sv, _ = arrays
        wm = wv.reshape(p["out_c"], p["k_h"] * p["k_w"] * p["in_c"])
        new = self._mve_matmul(call, p, wm, bv, mv, sv, io, io, scratch=True)
        if not isinstance(new, KernelCall):
            return new
        return new.to(K.MVE_CONV_ROWS_INPLACE, ring_rows=call[Role.RING_ROWS], io=io, ring=call[Role.RING])

    # --- DEPTHWISE_CONV_2D ------------------------------------------------------------------------------

    def _mve_dw(self, call: KernelCall, p: dict, x, w, wv, bv, mv, sv, y, inplace: bool = False):
        """Any channel count (the last group of 4 predicated) and depth multiplier (the k_h input rows of an
        output row expanded to out_c channels in the scratch): the model's [taps][C] weights as they are, the
        input offset folded into the bias (a padded tap reads the input zero point, which adds
        -in_offset * w)."""
        c, taps, mult = p["out_c"], p["k_h"] * p["k_w"], p["depth_multiplier"]
        if p["k_h"] > MAX_KH:
            return f"kernel height {p['k_h']} > {MAX_KH}"
        wt = wv.reshape(taps, c)
        proof = self.proven(wt.T, None if bv is None else bv[:c], mv, sv, p)
        if isinstance(proof, str):
            return proof
        b, rq = proof
        n = call.index
        folded = [_wrap32(int(b[i]) + p["in_offset"] * int(wt[:, i].sum())) for i in range(c)]
        folded += [0] * (-c % 4)
        bn = Const(self.add_const(f"tinyc_op{n}_mve_bias", "int32_t", folded))
        qn = self.q4_const(f"tinyc_op{n}_mve_q", rq)
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], channels=c, out_h=p["out_h"],
                      out_w=p["out_w"], k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"], stride_w=p["stride_w"],
                      dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"], pad_w=p["pad_w"],
                      in_offset=p["in_offset"], act_min=p["act_min"], act_max=p["act_max"], **rq.params())
        c4 = (c + 3) // 4 * 4
        need = 5 * c4  # int32 accumulators, a row of zero points
        if mult > 1:
            params["mult"] = mult
            need += 4 * MAX_KH + p["k_h"] * p["in_w"] * c  # the expanded input rows and their row numbers
        elif dwb_ok(params) and (not inplace or params["batches"] == 1 and dwb_lines_safe(
                p["in_h"], p["in_w"], p["out_h"], p["out_w"], p["stride_h"], p["pad_h"], False)):
            params["band"] = 1
            need = max(need, 3 * dwb_pitch(p["out_w"], p["stride_w"]))  # the ring of three padded lines
        self.mve_scratch = max(self.mve_scratch, need)
        return call.to(K.MVE_DWCONV, params, input=x, weights=w, bias=bn, requant=qn, output=y,
                       scratch=Static(SCRATCH, "void *"))

    def mve_dwconv(self, call: KernelCall):
        p = dict(call.params)
        if p["in_c"] == 1 and p["depth_multiplier"] > 1:  # a plain convolution
            conv = self.dw_as_conv(call)
            if conv is None:
                return "constants are not plain arrays"
            return self.mve_conv(conv)
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        x, wv, bv, mv, sv, y = arrays
        return self._mve_dw(call, p, x, call[Role.WEIGHTS], wv, bv, mv, sv, y)

    def mve_dwconv_inplace(self, call: KernelCall):
        """An in-place DEPTHWISE_CONV_2D: the rows scheme (a non-zero ring row count) or the plane scheme."""
        if call[Role.RING_ROWS].value == 0:  # the plane scheme
            return self.mve_dwconv_plane_inplace(call)
        return self.mve_dwconv_rows_inplace(call)

    def mve_dwconv_rows_inplace(self, call: KernelCall):
        """An in-place DEPTHWISE_CONV_2D with the plan's row ring: one input channel -> the matmul gathering
        through the ring; else the depthwise row loop over ring rows."""
        p = dict(call.params)
        if p["batches"] != 1:
            return f"{p['batches']} batches in place"
        if p["in_c"] == 1 and p["depth_multiplier"] > 1:
            conv = self.dw_as_conv(call)
            if conv is None:
                return "constants are not plain arrays"
            return self.mve_conv_rows_inplace(conv)
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        io, wv, bv, mv, sv, _ = arrays
        new = self._mve_dw(call, p, io, call[Role.WEIGHTS], wv, bv, mv, sv, io, inplace=True)
        if not isinstance(new, KernelCall):
            return new
        return new.to(K.MVE_DW_ROWS_INPLACE, ring_rows=call[Role.RING_ROWS], io=io, ring=call[Role.RING])

    def mve_dwconv_plane_inplace(self, call: KernelCall):
        """An in-place DEPTHWISE_CONV_2D with the plan's plane buffer (the "plane" scheme: ring rows "0"), 3x3,
        dilation 1: a channel at a time over a ring of three padded lines in that buffer (dwb_channel), the
        lines along an axis with stride 1 or 2 where the ring fits the buffer and the lines' order is safe in
        place -- of those, the one with fewer output vectors of 4 (rows on a tie). Other geometries, and the
        general requantization, keep the DSP plane kernel."""
        p = dict(call.params)
        if p["depth_multiplier"] != 1 or p["batches"] != 1:
            return "plane scheme with a depth multiplier or batches"
        if (p["k_h"], p["k_w"], p["dil_h"], p["dil_w"]) != (3, 3, 1, 1):
            return f"plane scheme with a {p['k_h']}x{p['k_w']} filter, dilation {p['dil_h']}x{p['dil_w']} " \
                   "(the Helium plane kernel takes 3x3, dilation 1)"
        c, ih, iw, oh, ow = p["in_c"], p["in_h"], p["in_w"], p["out_h"], p["out_w"]
        axes = []
        for along_h in (False, True):
            s_along, s_across, pad_across, length, lines, step = (
                (p["stride_h"], p["stride_w"], p["pad_w"], oh, ow, iw * c) if along_h
                else (p["stride_w"], p["stride_h"], p["pad_h"], ow, oh, c))
            if s_along in (1, 2) and 3 * dwb_pitch(length, s_along) <= ih * iw and 7 * step * s_along < 1 << 16 \
                    and dwb_lines_safe(ih, iw, oh, ow, s_across, pad_across, along_h):
                axes.append((lines * -(-length // 4), along_h))
        if not axes:
            return "plane scheme: no axis whose three padded lines fit the plane buffer in an order safe in place " \
                   "(the Helium plane kernel's ring)"
        along_h = min(axes)[1]
        consts = self.plane_constants(call)
        if isinstance(consts, str):
            return consts
        wt, bias, rq = consts
        if rq.general:  # the DSP plane kernel runs the general form (its generic loop)
            return "the Helium plane kernel takes the fast requantization only (a channel needs the general form)"
        n = call.index
        wn = Const(self.add_const(f"tinyc_op{n}_mve_w", "int8_t", wt.T.reshape(-1)))
        b = call[Role.BIAS]
        bn = Const(self.add_const(f"tinyc_op{n}_mve_bias", "int32_t", bias)) if isinstance(b, Null) else b
        qn = Const(self.add_const(f"tinyc_op{n}_mve_q", "int32_t", rq.flat()))
        params = dict(in_h=ih, in_w=iw, channels=c, out_h=oh, out_w=ow, stride_h=p["stride_h"],
                      stride_w=p["stride_w"], pad_h=p["pad_h"], pad_w=p["pad_w"], along_h=int(along_h),
                      in_offset=p["in_offset"], act_min=p["act_min"], act_max=p["act_max"])
        return call.to(K.MVE_DW_PLANE_INPLACE, params, weights=wn, bias=bn, requant=qn)

    # --- AVERAGE_POOL_2D ---------------------------------------------------------------------------------

    def mve_avg_pool(self, call: KernelCall):
        """The reference's parameters as they are; the division by the window's size is a VMULH.U32 by its
        reciprocal, exact for windows of at most 4096 values (avg_pool_arm_mve.c)."""
        p = dict(call.params)
        if p["k_h"] * p["k_w"] > 4096:
            return f"a {p['k_h']}x{p['k_w']} window: the reciprocal division is exact up to 4096 values"
        return call.to(K.MVE_AVG_POOL)

    # --- ADD ----------------------------------------------------------------------------------------------

    def mve_add_inplace(self, call: KernelCall):
        """The MVE ADD reads elements i..i+3 of both inputs before writing them: safe in place."""
        new = self.mve_add(call)
        return new.to(K.MVE_ADD_INPLACE) if isinstance(new, KernelCall) else new

    def mve_add(self, call: KernelCall):
        """ADD (same-shape or broadcast inputs): each input's rescale step as the kernel computes it (a left
        shift, VQRDMULH, a rounding right shift by e >= 1) is checked against TFLite's on all 256 input values;
        the output requantization is proven (tinyc/codegen/requant.py) on every sum the inputs can give."""
        from tinyc.codegen import quant as Q

        p = dict(call.params)
        if p["left_shift"] != 20:
            return f"left shift {p['left_shift']}"
        params = dict(size=p["size"])
        for i in (1, 2):
            off, m, sh = p[f"in{i}_offset"], int(p[f"in{i}_multiplier"]), int(p[f"in{i}_shift"])
            if sh > 0 or sh < -31 or not 0 <= m < 1 << 31:
                return f"input {i} rescale shift {sh:+d}"
            ls, e = (20, -sh) if sh < 0 else (21, 1)  # no right shift: one more bit in, then one out
            for x in range(-128, 128):
                v = (2 * ((x + off) << ls) * m + (1 << 31)) >> 32  # VQRDMULH (|a| < 2^30: no saturation)
                want = Q.multiply_by_quantized_multiplier((x + off) << 20, m, sh)
                if (v + (v >> 31) + (1 << (e - 1))) >> e != want:
                    return f"input {i} rescale is not VQRDMULH-exact"
            params.update({f"in{i}_offset": off, f"in{i}_lshift": ls, f"in{i}_mult": m, f"in{i}_half": 1 << (e - 1),
                           f"in{i}_rshift": e})
        t = [[Q.multiply_by_quantized_multiplier((x + p[f"in{i}_offset"]) << 20, p[f"in{i}_multiplier"],
                                                 p[f"in{i}_shift"]) for x in range(-128, 128)] for i in (1, 2)]
        rq = self.requant([min(t[0]) + min(t[1])], [max(t[0]) + max(t[1])], [p["out_multiplier"]],
                          [p["out_shift"]], p)
        if isinstance(rq, str):
            return rq.replace("channel 0", "the output")
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
        return call.to(K.MVE_ADD, params)


def specialize_mve(lowered: LoweredModel, decode_limit: int | None = None,
                   portable: dict[int, str] | None = None, resident=()) -> Specialization:
    """The MVE kernels where they apply, then the DSP specialization on the remaining calls (``decode_limit``,
    ``portable``: the board's fit, as for the DSP set)."""
    s = _MveSpecializer(lowered, decode_limit, portable, resident)
    out = s.run()
    scratch = (s.scratch + 3) // 4 * 4 + (s.mve_scratch + 3) // 4 * 4
    return Specialization(out, tuple(sorted(s.specialized + s.mve_specialized)), scratch,
                          out.weights_bytes - lowered.weights_bytes, s.choices(out.calls, "arm_mve"))
