"""In-place kernels: which input an op's output may overwrite, and the scratch the kernel then needs.

The memory planner (``tinyc.analyze.memory``) reads this through the op-rule table (``OpRule.inplace``)
and the code generator (``tinyc.codegen.inplace``) through the same functions, so the scratch the plan
reserves is exactly what the C kernel (firmware/runtime/kernels/*_inplace.c) uses. Schemes:

* ``elementwise``: output element i depends on input element i only (ADD/MUL of same-shape operands,
  RELU, RELU6): the reference kernel reads i before writing i, no scratch.
* ``pixel``: 1x1 stride-1 unpadded CONV_2D. One input pixel is copied to a buffer, then its output
  pixel written; pixels go first to last when the output pixel is no wider than the input pixel
  (everything it overwrites is already consumed), last to first otherwise.
* ``rows``: any CONV_2D / DEPTHWISE_CONV_2D, output rows in order. Before output row ``oy`` is written,
  every input row it overlaps that a later (or this) output row still reads is copied into a ring of
  ``ring_rows`` input rows; reads of such rows go to the ring. ``ring_rows`` comes from simulating
  exactly that schedule (``ring_rows`` below, mirrored by the C kernel).
* ``plane``: DEPTHWISE_CONV_2D with depth multiplier 1: one input channel plane is gathered into a
  buffer, then that channel of the output written (it only overwrites that channel's bytes).

An op whose in-place scratch would be no smaller than the bytes it saves gets no in-place form.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyc.model.graph import Graph, Operator

MAX_BYTES = 1 << 26  # larger tensors than any microcontroller holds (a corrupt model): no in-place form

__all__ = ["InPlace", "ring_rows", "conv2d", "depthwise_conv2d", "unary", "binary"]


@dataclass(frozen=True)
class InPlace:
    inputs: tuple[int, ...]  # input positions the output may overwrite, preferred first
    scratch: int = 0  # bytes the in-place kernel needs beside the tensor (0: none)
    scheme: str = "elementwise"  # "elementwise", "pixel", "rows" or "plane"
    ring_rows: int = 0  # rows scheme: input rows in the ring
    backward: bool = False  # pixel scheme: output pixels wider than input pixels, written last first

    def to_json(self) -> dict:
        return {"inputs": list(self.inputs), "scratch": self.scratch, "scheme": self.scheme,
                "ring_rows": self.ring_rows, "backward": self.backward}


def _opt(op: Operator, key: str, default):
    v = op.options.get(key, default)
    return default if v is None else v


def _padding(padding: str, in_size: int, filt: int, stride: int, dilation: int, out_size: int) -> int:
    if padding == "VALID":
        return 0
    effective = (filt - 1) * dilation + 1
    return max((out_size - 1) * stride + effective - in_size, 0) // 2


def ring_rows(in_h: int, in_row: int, out_h: int, out_row: int, stride: int, pad: int) -> int:
    """Ring size (input rows) of the rows scheme: the C kernel's schedule, simulated.

    Row r is last read by output row ``min(out_h - 1, (r + pad) // stride)`` (an upper bound: exact for
    any kernel height and dilation is not needed, only safe). Output row ``oy`` overwrites the bytes of
    input rows ``< ceil((oy + 1) * out_row / in_row)``; those still read from ``oy`` on are saved first,
    into slot ``r % ring``. The ring must hold every saved row still to be read."""
    def last(r: int) -> int:
        return min(out_h - 1, (r + pad) // stride)

    saved = 0  # rows [0, saved) have been overwritten (after being copied to the ring if still read)
    in_ring: list[int] = []  # rows copied, in order; last() grows with the row, so the live ones are a tail
    lo = 0  # first entry of in_ring still read
    need = 0
    for oy in range(out_h):
        clob = min(in_h, -(-((oy + 1) * out_row) // in_row))
        while saved < clob:
            r = saved
            saved += 1
            if last(r) >= oy:
                in_ring.append(r)
                while last(in_ring[lo]) < oy:
                    lo += 1
                need = max(need, r - in_ring[lo] + 1)
    return need


def _int8_batch1(g: Graph, op: Operator) -> bool:
    if not op.inputs or not op.outputs or op.inputs[0] < 0 or op.outputs[0] < 0:
        return False
    ts = [g.tensor(op.inputs[0]), g.tensor(op.outputs[0])]
    return all(t.dtype == "int8" and len(t.shape) == 4 and t.shape[0] == 1 for t in ts)


def _worth(g: Graph, op: Operator, scratch: int) -> bool:
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    return scratch < min(x.nbytes, y.nbytes)


def _conv_geometry(g: Graph, op: Operator, k_h: int, k_w: int):
    """(ih, iw, ic, oh, ow, oc, sh, sw, ph, pw), or None for a degenerate geometry (no in-place form)."""
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    _, ih, iw, ic = x.shape
    _, oh, ow, oc = y.shape
    sh, sw = _opt(op, "stride_h", 1), _opt(op, "stride_w", 1)
    dh, dw = _opt(op, "dilation_h_factor", 1), _opt(op, "dilation_w_factor", 1)
    if min(ih, iw, ic, oh, ow, oc, k_h, k_w, sh, sw, dh, dw) < 1 or max(x.nbytes, y.nbytes) > MAX_BYTES:
        return None
    pad = _opt(op, "padding", "SAME")
    ph = _padding(pad, ih, k_h, sh, dh, oh)
    pw = _padding(pad, iw, k_w, sw, dw, ow)
    return ih, iw, ic, oh, ow, oc, sh, sw, ph, pw


def _filter_geometry(g: Graph, op: Operator):
    """(kh, kw, ih, iw, ic, oh, ow, oc, sh, sw, ph, pw) of an int8 batch-1 convolution over a constant 4-D
    filter, or None (no in-place form)."""
    if len(op.inputs) < 2 or not _int8_batch1(g, op):
        return None
    w = g.tensor(op.inputs[1])
    if not w.is_constant or len(w.shape) != 4:
        return None
    _, kh, kw, _ = w.shape
    geo = _conv_geometry(g, op, kh, kw)
    return None if geo is None else (kh, kw, *geo)


def conv2d(g: Graph, op: Operator) -> InPlace | None:
    """CONV_2D over its input: the pixel scheme for 1x1 stride-1 unpadded, else the rows scheme."""
    geo = _filter_geometry(g, op)
    if geo is None:
        return None
    kh, kw, ih, iw, ic, oh, ow, oc, sh, sw, ph, pw = geo
    ip = conv2d_form(ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, ph, pw)
    return ip if _worth(g, op, ip.scratch) else None


def conv2d_form(ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, ph, pw) -> InPlace:
    """The CONV_2D in-place form for a geometry (pads: the leading padding the kernel uses)."""
    if kh == kw == 1 and sh == sw == 1 and ph == pw == 0 and (ih, iw) == (oh, ow):
        return InPlace((0,), ic, "pixel", 0, oc > ic)
    r = ring_rows(ih, iw * ic, oh, ow * oc, sh, ph)
    return InPlace((0,), r * iw * ic, "rows", r)


def depthwise_conv2d(g: Graph, op: Operator) -> InPlace | None:
    """DEPTHWISE_CONV_2D over its input: the rows or (depth multiplier 1) plane scheme, whichever needs
    less scratch."""
    geo = _filter_geometry(g, op)
    if geo is None:
        return None
    _, _, ih, iw, ic, oh, ow, oc, sh, sw, ph, pw = geo
    best = depthwise_form(ih, iw, ic, oh, ow, oc, sh, ph)
    return best if _worth(g, op, best.scratch) else None


def depthwise_form(ih, iw, ic, oh, ow, oc, sh, ph, scheme: str | None = None) -> InPlace:
    """The DEPTHWISE_CONV_2D in-place form for a geometry: the smaller of rows and plane, or ``scheme``."""
    r = ring_rows(ih, iw * ic, oh, ow * oc, sh, ph)
    rows = InPlace((0,), r * iw * ic, "rows", r)
    plane = InPlace((0,), ih * iw, "plane") if oc == ic else None
    if scheme == "rows" or plane is None:
        return rows
    if scheme == "plane":
        return plane
    return plane if plane.scratch < rows.scratch else rows


def unary(g: Graph, op: Operator) -> InPlace | None:
    """Elementwise int8 -> int8 with the output's size (RELU, RELU6)."""
    if not op.inputs or not op.outputs or op.inputs[0] < 0:
        return None
    x, y = g.tensor(op.inputs[0]), g.tensor(op.outputs[0])
    if x.dtype != "int8" or y.dtype != "int8" or x.size != y.size or x.is_constant:
        return None
    return InPlace((0,))


def binary(g: Graph, op: Operator) -> InPlace | None:
    """ADD / MUL: the output may overwrite an operand that has the output's shape (so element i of the
    output reads element i of that operand, broadcast or not)."""
    if len(op.inputs) < 2 or not op.outputs:
        return None
    y = g.tensor(op.outputs[0])
    if y.dtype != "int8":
        return None
    cands = []
    for pos in (0, 1):
        t = op.inputs[pos]
        if t < 0:
            continue
        x = g.tensor(t)
        if x.is_constant or x.dtype != "int8":
            continue
        xs = (1,) * (len(y.shape) - len(x.shape)) + tuple(x.shape)
        if xs == tuple(y.shape):
            cands.append(pos)
    return InPlace(tuple(cands)) if cands else None
