"""Per-call instruction counts of a generated model in QEMU (-icount shift=0), reference or DSP kernels.

The generated model is built with per-layer profiling on (tinyc.fit.profile, the profile tinyc fit
calibrates its latency model with): each layer's ticks of the port's timer are summed by the generated
code (40-instruction resolution on mps2; the clock read adds up to one tick per layer) and printed. A benchmark aid, not a test; `tinyc bench --per-layer` gives
exact per-layer counts through the harness.

    .venv/bin/python benchmarks/profile_layers.py kws_dscnn [--board mps2-an500] [--reference] [--default-plan]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinyc import zoo  # noqa: E402
from tinyc.boards import get_board  # noqa: E402
from tinyc.codegen.generate import variant_for  # noqa: E402
from tinyc.fit.profile import profile_layers  # noqa: E402
from tinyc.model.graph import load  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--board", default="mps2-an500")
    ap.add_argument("--reference", action="store_true", help="the reference kernels (the board without DSP)")
    ap.add_argument("--default-plan", action="store_true",
                    help="plan_improved as tinyc build uses it (in-place layers where they shrink the arena)")
    args = ap.parse_args()
    path = zoo.build(args.model)
    g = load(path)
    board = get_board(args.board)
    if args.reference:
        board = dataclasses.replace(board, dsp=False, helium=False)
    per_op = profile_layers(path.read_bytes(), board, board, timeout=600, inplace=args.default_plan)
    for idx, n in per_op.items():
        print(f"{idx:3d} {g.operators[idx].op:20s} {n:>11,}")
    print(f"    {'total':20s} {sum(per_op.values()):>11,}  ({variant_for(board)[0]}, {args.board})")


if __name__ == "__main__":
    main()
