"""Shape arithmetic the operators share: TFLite's padding rule, rank extension, products."""

from __future__ import annotations

from tinyc.errors import NotImplementedYet


def prod(xs) -> int:
    n = 1
    for x in xs:
        n *= int(x)
    return n


def shape4(shape: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` extended to 4 dimensions with leading ones (the 4-D kernels' view of it)."""
    if len(shape) > 4:
        raise NotImplementedYet(f"tensors of rank {len(shape)} are not supported by this kernel (at most 4)")
    return (1,) * (4 - len(shape)) + tuple(shape)


def padding(mode: str, in_size: int, filt: int, stride: int, dilation: int, out_size: int) -> int:
    """ComputePaddingHeightWidth: the leading (top/left) padding TFLite's reference kernels use."""
    if mode == "VALID":
        return 0
    effective = (filt - 1) * dilation + 1
    total = (out_size - 1) * stride + effective - in_size
    return max(total, 0) // 2


def window(op, in_hw: tuple[int, int], out_hw: tuple[int, int], k_hw: tuple[int, int],
           dilation: bool = True) -> dict[str, int]:
    """A sliding window's stride, dilation and leading padding from the operator's options, as the kernels'
    parameter structs name them (stride_h, stride_w[, dil_h, dil_w], pad_h, pad_w)."""
    o = op.options
    sh, sw = o.get("stride_h", 1), o.get("stride_w", 1)
    dh, dw = (o.get("dilation_h_factor", 1), o.get("dilation_w_factor", 1)) if dilation else (1, 1)
    mode = o.get("padding", "SAME")
    out = dict(stride_h=sh, stride_w=sw)
    if dilation:
        out |= dict(dil_h=dh, dil_w=dw)
    return out | dict(pad_h=padding(mode, in_hw[0], k_hw[0], sh, dh, out_hw[0]),
                      pad_w=padding(mode, in_hw[1], k_hw[1], sw, dw, out_hw[1]))


def row_strides(shape) -> list[int]:
    """Elements between neighbours along each axis of a row-major tensor."""
    out, acc = [1] * len(shape), 1
    for a in range(len(shape) - 1, -1, -1):
        out[a] = acc
        acc *= int(shape[a])
    return out


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else lo if v < lo else v


def slice_axes(shape, begin, end, strides, begin_mask: int = 0, end_mask: int = 0, shrink_mask: int = 0):
    """STRIDED_SLICE as TFLite Micro walks it (StridedSliceStartForAxis / StridedSliceEndForAxis): per input
    axis (first index, step, count), and the output shape (shrunk axes dropped). The kernel lowering and the
    generation-time folding (tinyc.model.fold) both read it."""
    axes, out = [], []
    for a, n in enumerate(int(d) for d in shape):
        s = int(strides[a])
        if s == 0:
            raise ValueError("stride 0")
        start = int(begin[a]) + (n if int(begin[a]) < 0 else 0)
        start = _clamp(start, 0, n) if s > 0 else _clamp(start, -1, n - 1)
        if begin_mask >> a & 1:
            start = 0 if s > 0 else n - 1
        if shrink_mask >> a & 1:
            stop = start if start >= n else start + 1
        else:
            stop = int(end[a]) + (n if int(end[a]) < 0 else 0)
            stop = _clamp(stop, 0, n) if s > 0 else _clamp(stop, -1, n - 1)
            if end_mask >> a & 1:
                stop = n if s > 0 else -1
        count = max(0, (stop - start + s - 1) // s) if s > 0 else max(0, (start - stop - s - 1) // -s)
        axes.append((start, s, count))
        if not shrink_mask >> a & 1:
            out.append(count)
    return axes, out
