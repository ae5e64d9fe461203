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
