"""Arena figures per zoo model (not a test): TFLite Micro's recorded head (its activation plan, x86
interpreter), tinyc's TFLM-equivalent plan, tinyc's improved plan without and with in-place kernels, and
which layers run in place with how much scratch. The issue-8 goal: at most 0.75x the TFLM head on the
KWS, VWW and IC models.

    .venv/bin/python benchmarks/bench_memory.py            # MLPerf Tiny models
    .venv/bin/python benchmarks/bench_memory.py --all      # every zoo model
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinyc import zoo  # noqa: E402
from tinyc.analyze import memory  # noqa: E402
from tinyc.model import reference  # noqa: E402
from tinyc.model.graph import load  # noqa: E402

GOAL = 0.75
GOAL_MODELS = ("kws_dscnn", "vww_mobilenet", "ic_resnet8")  # the anomaly-detection FC chain has no in-place form


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true", help="every zoo model, not only MLPerf Tiny")
    args = ap.parse_args()
    names = zoo.names() if args.all else zoo.mlperf_names()
    print(f"{'model':22s} {'TFLM head':>9s} {'equiv':>7s} {'before':>7s} {'after':>7s} {'after/head':>10s}  "
          f"in-place layers (scratch)")
    worst = 0.0
    for name in names:
        path = zoo.build(name)
        g = load(path)
        head = reference.arena_record(path).head
        equiv = memory.plan_tflm(g).arena_size
        before = memory.plan_improved(g, inplace=False).arena_size
        plan = memory.plan_improved(g)
        memory.validate(plan)
        used = memory.inplace_ops(g, plan)
        scratch = sum(b.size for b in plan.buffers if b.kind == "scratch" and b.role == "inplace")
        ratio = plan.arena_size / head if head else 1.0
        if name in GOAL_MODELS:
            worst = max(worst, ratio)
        print(f"{name:22s} {head:9d} {equiv:7d} {before:7d} {plan.arena_size:7d} {ratio:10.3f}  "
              f"{len(used)} ({scratch} B)" + (f": ops {sorted(used)}" if 0 < len(used) <= 8 else ""))
    print(f"worst ratio over {', '.join(GOAL_MODELS)}: {worst:.3f} (goal <= {GOAL})")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
