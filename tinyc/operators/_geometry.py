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
