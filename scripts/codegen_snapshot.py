"""Digest of every generated source, to prove a code-generator refactoring changes no byte.

For each model (the zoo, its trained-like models and the trained models of ../shared/models that tinyc
runs), each memory plan (TFLite Micro's, tinyc's without and with in-place layers), each kernel set
(reference on the M3, DSP on the M7, Helium on the M55) and each weight storage (dense, packed
wherever smaller): the SHA-256 of tinyc_model.c, tinyc_model.h, tinyc_model_data.c, tinyc_rt_config.h
and of the list of runtime files copied. Run it before and after, then compare:

    .venv/bin/python scripts/codegen_snapshot.py --out /tmp/before.json
    ... change the generator ...
    .venv/bin/python scripts/codegen_snapshot.py --out /tmp/after.json --compare /tmp/before.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BOARDS = ("mps2-an385", "mps2-an500", "mps3-an547")
WEIGHTS = ("dense", "packed")


def models() -> dict[str, Path]:
    from tinyc import zoo
    from tinyc.model.graph import load
    from tinyc.model.ops import compatibility

    out = {n: zoo.build(n) for n in zoo.names() + zoo.trained_like_names()}
    shared = ROOT.parent / "shared" / "models"
    for f in sorted(shared.glob("*.tflite")) if shared.is_dir() else ():
        if f.stat().st_size < 1 << 20 and compatibility(load(f)).ok:
            out[f.stem] = f
    return out


def plans(graph):
    from tinyc.analyze.memory import plan_improved, plan_tflm

    return {"tflm": plan_tflm(graph), "improved": plan_improved(graph, inplace=False),
            "inplace": plan_improved(graph)}


def digest(graph, plan, board, weights: str) -> str:
    from tinyc.codegen.generate import plan_layout, render_sources, runtime_files, variant_for
    from tinyc.codegen.lower import lower
    from tinyc.codegen.specialize import specialize

    variant, _ = variant_for(board)
    offsets, arena, order = plan_layout(graph, plan)
    try:
        lowered = specialize(lower(graph, offsets, arena, order, weights=weights), variant).lowered
    except Exception as exc:  # a refusal is part of the behaviour too
        return f"error: {type(exc).__name__}: {exc}"
    h = hashlib.sha256()
    for name, text in sorted(render_sources(lowered, variant).items()):
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    for f in runtime_files(lowered, variant):
        h.update(f.name.encode() + b"\0")
    return h.hexdigest()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--compare", type=Path, default=None, help="an earlier --out to compare with")
    args = p.parse_args(argv)
    from tinyc.boards import get_board
    from tinyc.model.graph import load

    boards = [get_board(b) for b in BOARDS]
    result = {}
    for name, path in models().items():
        g = load(path)
        for pname, plan in plans(g).items():
            for b in boards:
                for w in WEIGHTS:
                    result[f"{name}/{pname}/{b.id}/{w}"] = digest(g, plan, b, w)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True))
    print(f"{len(result)} generated projects digested -> {args.out}")
    if args.compare:
        old = json.loads(args.compare.read_text())
        diff = sorted(k for k in set(old) | set(result) if old.get(k) != result.get(k))
        for k in diff[:40]:
            print(f"differs: {k}")
        print(f"{len(diff)} of {len(result)} differ")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
