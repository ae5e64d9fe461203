"""The optimized kernel sets' requantization, chosen per output channel and proven exact at generation time.

TFLite's int8 output for an accumulator ``acc`` (bias included) is, with ``m`` the Q0.31 multiplier
(0 <= m < 2^31) and ``shift`` its exponent (left shift ``ls = max(shift, 0)``, right shift ``r = max(-shift, 0)``):

    out = clamp(RDBPOT(SRDHM(acc << ls, m), r) + zp, lo, hi)

SRDHM(x, m) = floor((x*m + 2^30) / 2^31) (its rounding is half up, for negative products too), and
RDBPOT(v, r) = floor((v + 2^(r-1) - [v < 0]) / 2^r) for r >= 1, v for r = 0. Both are non-decreasing in
their argument for m >= 0, so ``out`` is non-decreasing in ``acc`` wherever ``acc << ls`` does not wrap.

The kernels have two forms, chosen per layer (every channel of a layer uses the same instructions):

* fast (per channel mult, add, rshift):  v = SMMULR(2*acc, m); out = (v + (v >> 31) + add) >> rshift.
  SMMULR(2*acc, m) = floor((2*acc*m + 2^31) / 2^32) = SRDHM(acc, m) when 2*acc fits in 32 bits, and with
  add = 2^(r-1) + zp * 2^r the shift is RDBPOT(v, r) + zp, when the sum does not overflow.
* general (per channel mult, lsh, bias, add, rshift, and the layer's zero point added after the shift):
  v = SMMLAR(acc << lsh, m, bias) = bias + floor(((acc << lsh)*m + 2^31) / 2^32);
  out = ((v + (v >> 31) + add) >> rshift) + zp. A right shift r >= 1 takes lsh = 1, bias = 0,
  add = 2^(r-1): the zero point is not folded in, so a large r with any zero point is exact. A left shift
  (or none) takes lsh = 1 + ls, rshift = 0, bias = BIAS, add = -BIAS: v = SRDHM(acc << ls, m) + BIAS, and
  the sign term (v >> 31) is 0 whenever SRDHM(...) >= -BIAS; below that the exact output is under
  -BIAS + 127 < -128 and the computed one one less, both clamped to lo.

A channel whose output is the same for every reachable accumulator (a multiplier of 0, a dead filter, a
shift so large that nothing survives it) takes mult 0 and the constant in ``add``, in either form. Every
form is proven against the interval of accumulators the layer can reach (``bounds``), which holds every
partial sum too (each product's range contains 0). A channel none of them proves is named in the reason a
layer keeps a slower kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyc.codegen import quant as Q

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
BIAS = 256  # the general form's SMMLAR accumulate for channels without a right shift


@dataclass(frozen=True)
class Requant:
    """A layer's requantization: ``general`` says which form; ``channels`` one tuple per channel (fast:
    (mult, add, rshift); general: (mult, lsh, bias, add, rshift)); ``zp`` the output zero point (added
    after the shift by the general form)."""

    general: bool
    channels: tuple[tuple[int, ...], ...]
    zp: int

    def flat(self) -> list[int]:
        return [v for t in self.channels for v in t]

    def params(self) -> dict[str, int]:
        """Kernel parameters beside the table: none for the fast form (the fields default to 0)."""
        return dict(general=1, out_zp=self.zp) if self.general else {}


def bounds(bias, w: np.ndarray, in_offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel, the smallest and largest accumulator bias + sum_k w[c, k] * (x_k + in_offset)
    over int8 inputs x (w: [channels, K]; a padded tap contributes 0, which is in every product's range)."""
    w = np.asarray(w, dtype=np.int64)
    xlo, xhi = -128 + int(in_offset), 127 + int(in_offset)  # xlo <= 0 <= xhi for any int8 zero point
    pos, neg = np.clip(w, 0, None).sum(axis=1), np.clip(w, None, 0).sum(axis=1)
    b = np.zeros(w.shape[0], dtype=np.int64) if bias is None else np.asarray(bias, dtype=np.int64)[:w.shape[0]]
    return b + pos * xlo + neg * xhi, b + pos * xhi + neg * xlo


def tflite_out(acc: int, m: int, shift: int, zp: int, lo: int, hi: int) -> int:
    return min(hi, max(lo, Q.multiply_by_quantized_multiplier(int(acc), int(m), int(shift)) + zp))


def _fast(amin: int, amax: int, m: int, s: int, zp: int):
    if not -31 <= s <= -1 or amin < -(1 << 30) or amax >= 1 << 30:
        return None
    r = -s
    add = (1 << (r - 1)) + (zp << r)
    vmin, vmax = Q.srdhm(amin, m), Q.srdhm(amax, m)
    if vmin - 1 + add < INT32_MIN or vmax + add > INT32_MAX:
        return None
    return (m, add, r)


def _general(amin: int, amax: int, m: int, s: int, zp: int):
    if -31 <= s <= -1:
        if amin < -(1 << 30) or amax >= 1 << 30:
            return None
        r = -s
        add = 1 << (r - 1)
        vmin, vmax = Q.srdhm(amin, m), Q.srdhm(amax, m)
        if vmin - 1 + add < INT32_MIN or vmax + add > INT32_MAX:
            return None
        return (m, 1, 0, add, r)
    if 0 <= s <= 30:
        lsh = 1 + s
        if amin * (1 << lsh) < INT32_MIN or amax * (1 << lsh) > INT32_MAX:
            return None
        vmin, vmax = Q.srdhm(amin << s, m), Q.srdhm(amax << s, m)
        if vmax + BIAS > INT32_MAX or vmin + BIAS - 1 - BIAS < INT32_MIN:
            return None
        return (m, lsh, BIAS, -BIAS, 0)
    return None


def _constant(amin: int, amax: int, m: int, s: int, zp: int, lo: int, hi: int):
    """The output when it is the same for every accumulator in [amin, amax], else None."""
    ls = max(s, 0)
    if m != 0 and (amin * (1 << ls) < INT32_MIN or amax * (1 << ls) > INT32_MAX):
        return None  # the reference's left shift wraps: not monotone
    a, b = tflite_out(amin, m, s, zp, lo, hi), tflite_out(amax, m, s, zp, lo, hi)
    return a if a == b else None


def _why(i: int, amin: int, amax: int, m: int, s: int, per_tensor: bool) -> str:
    who = "the layer" if per_tensor else f"channel {i}"
    if not 0 <= m < 1 << 31:
        return f"{who}: multiplier {m} outside [0, 2^31)"
    if s < -31 or s > 30:
        return f"{who}: shift {s:+d} outside [-31, 30]"
    if amin < INT32_MIN or amax > INT32_MAX:
        return f"{who}: the accumulator reaches [{amin}, {amax}], past int32"
    if s >= 0:
        return (f"{who}: shift {s:+d} with |acc| up to {max(-amin, amax)} overflows the pre-shift "
                f"(|acc| * 2^{s + 1} >= 2^31)")
    return f"{who}: |acc| up to {max(-amin, amax)} overflows the pre-shift (2 |acc| >= 2^31)"


def plan(amin, amax, mult, shift, zp: int, lo: int, hi: int) -> Requant | str:
    """The fastest form that is exact for every channel (per-tensor quantization: one entry of mult and
    shift for all channels), or the reason none is."""
    n = len(amin)
    per_tensor = len(mult) == 1 and n > 1
    if len(mult) == 1:
        mult, shift = list(mult) * n, list(shift) * n
    chans = [(int(amin[i]), int(amax[i]), int(mult[i]), int(shift[i])) for i in range(n)]
    fast, general, const = [], [], []
    for a0, a1, m, s in chans:
        fast.append(_fast(a0, a1, m, s, zp) if 0 <= m < 1 << 31 else None)
        general.append(_general(a0, a1, m, s, zp) if 0 <= m < 1 << 31 else None)
        c = _constant(a0, a1, m, s, zp, lo, hi) if 0 <= m < 1 << 31 and INT32_MIN <= a0 and a1 <= INT32_MAX \
            and -31 <= s <= 30 else None
        const.append(c)
    # fast where every channel is; a channel proven either way keeps its formula (the zoo's constants)
    if all(f is not None or c is not None for f, c in zip(fast, const)):
        return Requant(False, tuple(f if f is not None else (0, 1 + 2 * c, 1) for f, c in zip(fast, const)), zp)
    if all(g is not None or c is not None for g, c in zip(general, const)):
        return Requant(True, tuple(g if g is not None else (0, 1, 0, 1 + 2 * (c - zp), 1)
                                   for g, c in zip(general, const)), zp)
    i = next(i for i in range(n) if general[i] is None and const[i] is None)
    return _why(i, *chans[i], per_tensor)


def emulate(req: Requant, acc: int, lo: int, hi: int, channel: int = 0) -> int:
    """The kernels' arithmetic on one accumulator (32-bit registers), for tests."""
    def wrap(v):
        v &= 0xFFFFFFFF
        return v - (1 << 32) if v >= 1 << 31 else v

    t = req.channels[channel]
    if not req.general:
        m, add, r = t
        v = (wrap(2 * acc) * m + (1 << 31)) >> 32
        v = wrap(wrap(v + (v >> 31) + add)) >> r
    else:
        m, lsh, bias, add, r = t
        v = wrap(((bias << 32) + wrap(acc << lsh) * m + (1 << 31)) >> 32)
        v = (wrap(v + (v >> 31) + add) >> r) + req.zp
    return min(hi, max(lo, v))
