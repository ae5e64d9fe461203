"""`tinyc check`'s SRAM prediction against the linked firmware, model by model (issue 14: within 2%).

Builds every model (cached: tinyc.deploy.pipeline.cached_build, as `tinyc build --emulate` does) and prints
check's predicted SRAM next to the ELF's .data + .bss + arena + stack (tinyc.deploy.memuse), with the
harness's copy of the input on its own column.

    .venv/bin/python scripts/sram_prediction.py [--boards nucleo-f746,mps3-an547] [MODEL.tflite ...]

Without models: every model of /work/shared/models (../shared/models) tinyc supports, the zoo's valid
models (tinyc.zoo.names()) and its trained-like ones (--trained: built with TensorFlow on first use). Exit 1
when one is off by more than 2%.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = ROOT.parent / "shared" / "models"


def default_models(trained: bool = False) -> list[Path]:
    from tinyc import zoo
    from tinyc.errors import TinycError
    from tinyc.model import graph, ops

    out = []
    for p in sorted(SHARED.glob("*.tflite")):
        try:
            ops.check_supported(graph.load(p))
        except TinycError:
            continue
        out.append(p)
    names = zoo.names() + (zoo.trained_like_names() if trained and hasattr(zoo, "trained_like_names") else [])
    return out + list(zoo.build_all(names).values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--boards", default="nucleo-f746,mps3-an547")
    ap.add_argument("--trained", action="store_true", help="also the zoo's trained-like models")
    args = ap.parse_args()
    from tinyc.deploy import pipeline
    from tinyc.errors import TinycError

    models = [Path(m) for m in args.models] or default_models(args.trained)
    print(f"{'model':34} {'board':12} {'predicted':>10} {'linked':>10} {'diff':>7}  input copy")
    worst = 0.0
    for board in args.boards.split(","):
        for m in models:
            try:
                rec = pipeline.cached_build(m, board, emulate=True)
            except TinycError as exc:
                print(f"{m.stem:34} {board:12} {'-':>10} {'-':>10} {'':>7}  {str(exc).split(': ')[-1][:60]}")
                continue
            pred = rec.predicted.sram if rec.predicted else None
            linked = rec.memory.ram
            diff = (pred - linked) / linked
            worst = max(worst, abs(diff))
            copy = "yes" if rec.input_copy else "no (no room)"
            print(f"{m.stem:34} {board:12} {pred:>10,} {linked:>10,} {diff:>+7.2%}  {copy}", flush=True)
    print(f"largest difference {worst:.2%}")
    return 0 if worst <= 0.02 else 1


if __name__ == "__main__":
    sys.exit(main())
