"""Would MCUNetV2-style patch-based execution cut the arena of the zoo models? An analysis, not a test.

Patch-based execution runs a prefix of the graph (ops 0..k, spatial ops only) once per spatial patch
of the prefix's last output, so the large early activations never exist whole. While the patches run,
the graph input and the prefix's last output are whole; inside the prefix each tensor only needs the
region its consumers read (receptive field with halo), recomputed per patch. This script computes, for
every prefix and patch grid, an optimistic arena figure (input + prefix output + the largest patch
working set, i.e. one op's input and output regions, against the peak of the default in-place plan
after the prefix) and the prefix's MACs relative to running it once. It prints the options that beat
tinyc's default plan (plan_improved, in-place layers).

    .venv/bin/python benchmarks/patch_analysis.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinyc import zoo  # noqa: E402
from tinyc.analyze import memory  # noqa: E402
from tinyc.model.graph import load  # noqa: E402

SPATIAL = {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MAX_POOL_2D", "AVERAGE_POOL_2D", "RELU", "RELU6", "PAD"}
GRIDS = (2, 3, 4, 6, 8)


def window(g, op) -> tuple[int, int, int, int]:
    """(kernel h, kernel w, stride h, stride w) of a spatial op; 1x1/1 for elementwise ones."""
    o = op.options
    if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        _, kh, kw, _ = g.tensor(op.inputs[1]).shape
    elif op.op.endswith("POOL_2D"):
        kh, kw = o["filter_height"], o["filter_width"]
    else:
        return 1, 1, 1, 1
    return kh, kw, o.get("stride_h") or 1, o.get("stride_w") or 1


def regions(g, prefix, ph: int, pw: int) -> dict[int, tuple[int, int]]:
    """Per tensor of the prefix, the rows x cols one patch reads (consumers' needs, widest wins)."""
    need = {prefix[-1].outputs[0]: (ph, pw)}
    for op in reversed(prefix):
        rh, rw = need.get(op.outputs[0], (0, 0))
        kh, kw, sh, sw = window(g, op)
        for t in (op.inputs if op.op == "ADD" else op.inputs[:1]):
            th, tw = g.tensor(t).shape[1:3]
            h, w = min(th, (rh - 1) * sh + kh), min(tw, (rw - 1) * sw + kw)
            oh, ow = need.get(t, (0, 0))
            need[t] = (max(oh, h), max(ow, w))
    return need


def option(g, k: int, n: int, live_after: int):
    """(arena estimate, prefix MAC factor, working set) of running ops 0..k in n x n patches, or None."""
    prefix = g.operators[:k + 1]
    last = prefix[-1].outputs[0]
    _, H, W, _ = g.tensor(last).shape
    ph, pw = math.ceil(H / n), math.ceil(W / n)
    need = regions(g, prefix, ph, pw)
    work = 0
    for op in prefix:
        b = 0
        for t in (*[t for t in op.inputs if not g.tensor(t).is_constant], op.outputs[0]):
            if t in g.inputs or t == last:
                continue
            if t not in need:
                return None  # a prefix tensor other than the last is read after the prefix
            b += need[t][0] * need[t][1] * g.tensor(t).shape[3]
        work = max(work, b)
    macs = once = 0
    for op in prefix:
        if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        w = g.tensor(op.inputs[1]).shape
        per_pixel = w[1] * w[2] * (w[3] if op.op == "CONV_2D" else 1) * g.tensor(op.outputs[0]).shape[3]
        oh, ow = g.tensor(op.outputs[0]).shape[1:3]
        rh, rw = need[op.outputs[0]] if op.outputs[0] != last else (ph, pw)
        macs += n * n * rh * rw * per_pixel
        once += oh * ow * per_pixel
    gin = sum(g.tensor(t).nbytes for t in g.inputs)
    arena = max(gin + g.tensor(last).nbytes + work, live_after)
    return arena, (macs / once if once else 1.0), work


def main() -> None:
    for name in zoo.mlperf_names():
        g = load(zoo.build(name))
        plan = memory.plan_improved(g)
        live = [sum(b.size_at(s) for b in plan.live_at(s)) for s in range(len(g.operators))]
        rows = []
        for k, op in enumerate(g.operators):
            if op.op not in SPATIAL:
                break
            for n in GRIDS:
                if n > g.tensor(op.outputs[0]).shape[1]:
                    continue
                o = option(g, k, n, max(live[k + 1:], default=0))
                if o and o[0] < plan.arena_size:
                    rows.append((o[0], o[1], k, n, o[2]))
        print(f"{name}: default plan arena {plan.arena_size:,} B")
        if not rows:
            print("  no prefix and patch grid beats it")
        # the cheapest (in recomputation) option for each arena figure
        for arena, factor, k, n, work in sorted(rows, key=lambda r: (r[0], r[1]))[:6]:
            print(f"  ops 0..{k} in {n}x{n} patches: arena >= {arena:,} B ({arena / plan.arena_size:.2f}x), "
                  f"prefix MACs x{factor:.2f}, patch working set {work:,} B")


if __name__ == "__main__":
    main()
