"""Specialize lowered kernel calls for the scalar Arm kernel set (firmware/runtime/kernels/arm_scalar/): the
cores without the DSP extension, ARMv6-M (Cortex-M0, M0+, M1) and ARMv7-M's Cortex-M3.

As for the DSP set (specialize.py, whose proofs and helpers this module reuses), the generator does once what
the reference kernels redo at run time: the input zero point is folded into the bias (bias' = bias + in_offset *
sum(w)), and the requantization is chosen per layer and proven exact per output channel on every accumulator
the layer can reach (tinyc/codegen/requant.py, the same fast and general forms: the kernels compute SMMULR
without the instruction, with SMULL on ARMv7-M and four 16-bit MULS on ARMv6-M). A call the kernels do not
cover keeps its reference kernel, with the reason recorded (``Specialization.choices``).

Layouts (tinyc_rt_arm_scalar.h): CONV_2D / FULLY_CONNECTED weights keep the model's [out_c][K] row order,
each row padded to K4 (a multiple of 4), stored as unsigned bytes w + 128 (the kernels load them with LDRB,
and subtract 128 * sum(x) per column); one-batch FULLY_CONNECTED rows come in blocks of 4 interleaved by
column. DEPTHWISE_CONV_2D weights are widened to int32 ([C/4][taps][4], the last C % 4 channels [C % 4][taps]),
four times their int8 size (depthwise filters are small); ``flash_delta`` says what that costs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from tinyc.codegen import kernels as K
from tinyc.codegen import requant as RQ
from tinyc.codegen.kernels import Const, KernelCall, Role, Static
from tinyc.codegen.lower import LoweredModel
from tinyc.codegen.specialize import Specialization, _Specializer, _wrap32, pack_depthwise_weights

SET = "arm_scalar"
SCRATCH = "tinyc_scalar_scratch"
SCALAR_KERNELS = tuple(k.macro for k in K.all_kernels() if k.kernel_set is K.KernelSet.ARM_SCALAR)
FC_WIDEN_BYTES = 4096  # the most static RAM a one-batch FULLY_CONNECTED widens its input into
POINTER_BYTES = 8  # a tap pointer in the depthwise scratch (4 on the target, 8 in the host build)
KC = 128  # TINYC_SCALAR_KC: the most values of K per pass of the convolution (ARMv7-M's paired fields)
PX_MAX = 6  # pixels per block (6 on ARMv7-M, 4 on ARMv6-M): accumulators and row pointers are sized for 6


def conv_scratch(k: int, out_c: int, k_h: int, chunk: int) -> int:
    """Bytes of scratch the convolution takes with chunks of ``chunk`` values of K (k): the columns (16 bytes
    a value), the accumulators (PX_MAX int32 per output channel), the blocks' input row pointers."""
    return 16 * chunk + 4 * PX_MAX * out_c + POINTER_BYTES * PX_MAX * k_h


def conv_chunk(k: int, out_c: int, k_h: int, limit: int | None) -> int | None:
    """The largest chunk of K (a multiple of 4, at most KC) whose scratch stays within ``limit`` bytes (None: no
    limit), or None where not even 4 values do."""
    k4 = (k + 3) // 4 * 4
    chunk = min(k4, KC)
    if limit is None:
        return chunk
    room = (limit - conv_scratch(k, out_c, k_h, 0)) // 16 // 4 * 4
    return min(chunk, room) if room >= 4 else None


def unsigned_rows(w: np.ndarray) -> tuple[np.ndarray, int]:
    """Rows [out, K] -> [out, K4] int8 holding the bytes w + 128 (LDRB reads them unsigned), K4 = K rounded up
    to a multiple of 4, padded with the weight 0 (byte 128)."""
    rows, k = w.shape
    k4 = (k + 3) // 4 * 4
    u = np.full((rows, k4), 128, dtype=np.int64)
    u[:, :k] = np.asarray(w, dtype=np.int64) + 128
    return (u - 256 * (u > 127)).astype(np.int8), k4


def pack_fc_blocks(w: np.ndarray) -> tuple[np.ndarray, int]:
    """FULLY_CONNECTED rows [out, K] -> the one-batch layout of fully_connected_arm_scalar.c: unsigned rows
    (unsigned_rows), blocks of 4 rows interleaved by column ([block][K4][4]), then the last out % 4 rows."""
    u, k4 = unsigned_rows(w)
    rows = u.shape[0]
    blocks = rows // 4
    parts = [u[:4 * blocks].reshape(blocks, 4, k4).transpose(0, 2, 1).reshape(-1), u[4 * blocks:].reshape(-1)]
    return np.concatenate(parts).astype(np.int8), k4


class _ScalarSpecializer(_Specializer):
    SET = SET

    def __init__(self, lowered: LoweredModel, scratch_limit: int | None = None,
                 portable: dict[int, str] | None = None):
        super().__init__(lowered)
        self.limit = scratch_limit  # the most static scratch the board has room for (None: no limit)
        self.portable = dict(portable or {})  # op index -> why it keeps its reference kernel (footprint's fit)

    def over(self, need: int) -> str | None:
        """Why a kernel needing ``need`` bytes of scratch does not fit the limit, or None where it does."""
        if self.limit is not None and need > self.limit:
            return (f"its scratch ({need:,} B) would not fit the board's SRAM ({max(self.limit, 0):,} B left "
                    f"for kernel scratch)")
        return None

    def rewrite(self, calls, handlers, done, set_name):
        keep = self.portable
        wrapped = {k: (lambda call, h=h: keep[call.index] if call.index in keep else h(call))
                   for k, h in handlers.items()}
        return super().rewrite(calls, wrapped, done, set_name)

    def handlers(self):
        return {K.CONV2D: self.conv, K.FULLY_CONNECTED: self.fc, K.DEPTHWISE_CONV2D: self.dwconv,
                K.CONV2D_POINTWISE_INPLACE: self.conv_pointwise_inplace, K.CONV2D_INPLACE: self.conv_rows_inplace,
                K.DEPTHWISE_CONV2D_INPLACE: self.dwconv_inplace}

    def run(self) -> LoweredModel:
        calls = self.rewrite(self.m.calls, self.handlers(), self.specialized, SET)
        calls = self.declare_scratch(calls, SCRATCH, self.scratch,
                                     "scalar kernels' scratch (int32 im2col columns, accumulators, tap pointers)")
        used = {name for c in calls for name in c.consts()}
        consts = tuple(c for c in self.consts.values() if c.name in used)
        return dataclasses.replace(self.m, calls=tuple(calls), consts=consts,
                                   kernels=tuple(sorted({c.macro for c in calls})))

    def q_const(self, name: str, rq: RQ.Requant) -> Const:
        """tinyc_scalar_q_t records (tinyc_scalar_qx_t in the general form; the params say which)."""
        return Const(self.add_const(name, "int32_t", rq.flat()))

    # --- CONV_2D / FULLY_CONNECTED --------------------------------------------------------------------------

    def _matmul(self, call: KernelCall, p: dict[str, Any], w: np.ndarray, bias, mult, shift, x, y):
        """w: [out_c, K] int8 weights in im2col order (ky, kx, ic)."""
        out_c, k = w.shape
        off = p["in_offset"]
        chunk = conv_chunk(k, out_c, p["k_h"], self.limit)
        if chunk is None:
            return self.over(conv_scratch(k, out_c, p["k_h"], 4))
        proof = self.proven(w, bias, mult, shift, p)
        if isinstance(proof, str):
            return proof
        b, rq = proof
        folded = [_wrap32(int(b[o]) + off * int(w[o].sum())) for o in range(out_c)]
        wu, k4 = unsigned_rows(w)
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_scalar_w", "int8_t", wu)
        bn = self.add_const(f"tinyc_op{n}_scalar_bias", "int32_t", folded)
        qn = self.q_const(f"tinyc_op{n}_scalar_q", rq)
        pointwise = p["k_h"] == 1 and p["k_w"] == 1 and p["stride_h"] == 1 and p["stride_w"] == 1 \
            and p["pad_h"] == 0 and p["pad_w"] == 0 and p["in_h"] == p["out_h"] and p["in_w"] == p["out_w"]
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], in_c=p["in_c"], out_h=p["out_h"],
                      out_w=p["out_w"], out_c=out_c, k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"],
                      stride_w=p["stride_w"], dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"],
                      pad_w=p["pad_w"], col_len=k, pad_value=-off, act_min=p["act_min"], act_max=p["act_max"],
                      **rq.params(), pointwise=int(pointwise), col_chunk=chunk)
        self.scratch = max(self.scratch, conv_scratch(k, out_c, p["k_h"], chunk))
        return call.to(K.SCALAR_CONV, params, input=x, weights=Const(wn), bias=Const(bn), requant=qn, output=y,
                       scratch=Static(SCRATCH, "int32_t *"))

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
        """An in-place CONV_2D with the plan's row ring: the matmul gathering its columns through the ring."""
        new = self.conv(call)
        if not isinstance(new, KernelCall):
            return new
        return new.to(K.SCALAR_CONV_ROWS_INPLACE, ring_rows=call[Role.RING_ROWS], io=call[Role.IO],
                      ring=call[Role.RING])

    def conv_pointwise_inplace(self, call: KernelCall):
        """An in-place 1x1 CONV_2D (the plan's pixel scheme): four pixels gathered into the static scratch
        before their outputs are stored (the plan's one-pixel buffer stays reserved, unread)."""
        p = dict(call.params)
        if p["filter_in_c"] != p["in_c"]:
            return f"grouped convolution (filter depth {p['filter_in_c']}, {p['in_c']} input channels)"
        if p["batches"] != 1:
            return f"{p['batches']} batches in place"
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        io, wv, bv, mv, sv, _ = arrays
        new = self._matmul(call, p, wv.reshape(p["out_c"], p["in_c"]), bv, mv, sv, io, io)
        if not isinstance(new, KernelCall):
            return new
        return new.to(K.SCALAR_CONV_PW_INPLACE, io=io)

    def fc(self, call: KernelCall):
        args = self.fc_as_conv(call)
        if isinstance(args, str):
            return args
        conv, x, w, bv, mv, sv, y = args
        if conv["in_w"] != 1:  # several batches: the 1x1 convolution over them
            return self._matmul(call, conv, w, bv, mv, sv, x, y)
        out_c, k = w.shape
        off = conv["in_offset"]
        k4 = (k + 3) // 4 * 4
        widen = 4 * k4 <= FC_WIDEN_BYTES and not self.over(4 * k4 + 4 * out_c)
        if self.over(4 * out_c):
            return self.over(4 * out_c)
        proof = self.proven(w, bv, mv, sv, conv)
        if isinstance(proof, str):
            return proof
        b, rq = proof
        folded = [_wrap32(int(b[o]) + off * int(w[o].sum())) for o in range(out_c)]
        wq, k4 = pack_fc_blocks(w)  # widen: else the input is read as it is (a slower loop, no scratch for it)
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_scalar_w", "int8_t", wq)
        bn = self.add_const(f"tinyc_op{n}_scalar_bias", "int32_t", folded)
        qn = self.q_const(f"tinyc_op{n}_scalar_q", rq)
        params = dict(batches=1, in_h=1, in_w=1, in_c=k, out_h=1, out_w=1, out_c=out_c, k_h=1, k_w=1, stride_h=1,
                      stride_w=1, dil_h=1, dil_w=1, col_len=k, pad_value=-off, act_min=conv["act_min"],
                      act_max=conv["act_max"], **rq.params(), pointwise=int(widen))
        self.scratch = max(self.scratch, 4 * k4 * widen + 4 * out_c)  # the input widened, one accumulator per row
        return call.to(K.SCALAR_FC, params, input=x, weights=Const(wn), bias=Const(bn), requant=qn, output=y,
                       scratch=Static(SCRATCH, "int32_t *"))

    # --- DEPTHWISE_CONV_2D --------------------------------------------------------------------------------

    def _dw(self, call: KernelCall, p, x, wv, bv, mv, sv, y, *, taps_scratch: bool = True):
        """Depthwise weights [taps, C] (C = out_c; a depth multiplier > 1 reads input channel c / mult)."""
        c, taps = p["out_c"], p["k_h"] * p["k_w"]
        if taps_scratch and self.over((4 * c + 7) // 8 * 8 + POINTER_BYTES * taps + p["in_c"]):
            return self.over((4 * c + 7) // 8 * 8 + POINTER_BYTES * taps + p["in_c"])
        w = wv.reshape(taps, c)
        proof = self.proven(w.T, None if bv is None else bv[:c], mv, sv, p)
        if isinstance(proof, str):
            return proof
        b, rq = proof
        off = p["in_offset"]
        folded = [_wrap32(int(b[i]) + off * int(w[:, i].sum())) for i in range(c)]
        n = call.index
        wn = self.add_const(f"tinyc_op{n}_scalar_w", "int32_t", pack_depthwise_weights(w).astype(np.int64))
        bn = self.add_const(f"tinyc_op{n}_scalar_bias", "int32_t", folded)
        qn = self.q_const(f"tinyc_op{n}_scalar_q", rq)
        if taps_scratch:  # the channels' accumulators, the tap pointers, then a row of input zero points
            self.scratch = max(self.scratch, (4 * c + 7) // 8 * 8 + POINTER_BYTES * taps + p["in_c"])
        params = dict(batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], in_c=p["in_c"], channels=c,
                      out_h=p["out_h"], out_w=p["out_w"], k_h=p["k_h"], k_w=p["k_w"], stride_h=p["stride_h"],
                      stride_w=p["stride_w"], dil_h=p["dil_h"], dil_w=p["dil_w"], pad_h=p["pad_h"],
                      pad_w=p["pad_w"], in_zp=-off, act_min=p["act_min"], act_max=p["act_max"], **rq.params())
        if p["depth_multiplier"] > 1:
            params["mult"] = p["depth_multiplier"]
        return call.to(K.SCALAR_DWCONV, params, input=x, weights=Const(wn), bias=Const(bn),
                       requant=qn, output=y, scratch=Static(SCRATCH, "void *"))

    def dwconv(self, call: KernelCall):
        p = dict(call.params)
        if p["in_c"] == 1 and p["depth_multiplier"] > 1:  # a plain convolution
            conv = self.dw_as_conv(call)
            return "constants are not plain arrays" if conv is None else self.conv(conv)
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        return self._dw(call, p, *arrays)

    def dwconv_inplace(self, call: KernelCall):
        """Rows scheme: one input channel -> the matmul through the ring; else the depthwise loop over tap
        pointers into the ring. Plane scheme: one channel plane at a time in the plan's plane buffer."""
        p = dict(call.params)
        if p["batches"] != 1:
            return f"{p['batches']} batches in place"
        plane = call[Role.RING_ROWS].value == 0
        if not plane and p["in_c"] == 1 and p["depth_multiplier"] > 1:
            conv = self.dw_as_conv(call)
            return "constants are not plain arrays" if conv is None else self.conv_rows_inplace(conv)
        if plane and p["depth_multiplier"] != 1:
            return "plane scheme with a depth multiplier"  # the plan never makes one
        arrays = self._arrays(call)
        if arrays is None:
            return "constants are not plain arrays"
        new = self._dw(call, p, *arrays, taps_scratch=not plane)
        if not isinstance(new, KernelCall):
            return new
        if plane:  # four channels' planes with a border of zero points, then the taps' offsets
            hp = max((p["out_h"] - 1) * p["stride_h"] + (p["k_h"] - 1) * p["dil_h"] + 1, p["pad_h"] + p["in_h"])
            wp = max((p["out_w"] - 1) * p["stride_w"] + (p["k_w"] - 1) * p["dil_w"] + 1, p["pad_w"] + p["in_w"])
            need = (hp * wp * 4 + 3) // 4 * 4 + 4 * p["k_h"] * p["k_w"]
            if self.over(need):
                return self.over(need)
            self.scratch = max(self.scratch, need)
            return new.to(K.SCALAR_DW_PLANE_INPLACE, io=call[Role.IO], ring=call[Role.RING])
        return new.to(K.SCALAR_DW_ROWS_INPLACE, ring_rows=call[Role.RING_ROWS], io=call[Role.IO],
                      ring=call[Role.RING])


def specialize_arm_scalar(lowered: LoweredModel, scratch_limit: int | None = None,
                          portable: dict[int, str] | None = None) -> Specialization:
    """The scalar Arm kernels where they apply; other calls keep their reference kernels. ``scratch_limit``:
    the most static scratch any kernel may take (the convolutions take K in smaller chunks to stay within it,
    a kernel that cannot keeps its reference kernel); ``portable``: op index -> why it keeps its reference
    kernel (tinyc.codegen.footprint's fit to the board)."""
    s = _ScalarSpecializer(lowered, scratch_limit, portable)
    out = s.run()
    return Specialization(out, tuple(s.specialized), (s.scratch + 3) // 4 * 4,
                          out.weights_bytes - lowered.weights_bytes, s.choices(out.calls, SET))
