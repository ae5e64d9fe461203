"""Benchmark of packed weights (not a test): per model, the same firmware generated with dense int8 filters
and with `--weights packed` (packed wherever smaller; --weights auto: as the board decides), built for an emulated board. Prints, measured from the
compiled objects: each filter's flash bytes (symbol sizes in tinyc_model_data.o, arm-none-eabi-nm) and bits
per weight, the model's constants and kernel code (arm-none-eabi-size), static RAM (arena + the decode
scratch), and instructions per inference in QEMU (-icount: instructions, not cycles). The output checksum of
every run must be the same for dense and packed (bit-exact on the emulated core).

    .venv/bin/python benchmarks/bench_packed.py MODEL.tflite [...] [--board mps2-an386] [--runs 3] [--weights packed|packed-ram|auto]
        [--json out.json]

Without models it uses the optimized digits models cached by tests/test_codegen_packed_models.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_codegen import TIMING_MAIN  # noqa: E402

from tinyc import paths  # noqa: E402
from tinyc.analyze.memory import plan_improved  # noqa: E402
from tinyc.boards import get_board  # noqa: E402
from tinyc.codegen import generate  # noqa: E402
from tinyc.deploy import emulator, memuse, platformio  # noqa: E402
from tinyc.deploy.project import render_project  # noqa: E402
from tinyc.model.graph import load  # noqa: E402


def object_sizes(objdir: Path, gm) -> dict[str, int]:
    """Flash bytes (.text + .rodata) of the model's compiled objects: kernels, model code, constants."""
    kernel_names = {s.stem for s in gm.sources} - {"tinyc_model", "tinyc_model_data"}
    out = {"kernels_text": 0, "model_text": 0, "constants": 0}
    for o in sorted(objdir.rglob("*.o")):
        stem = o.name.split(".")[0]
        if stem not in kernel_names | {"tinyc_model", "tinyc_model_data"}:
            continue
        r = subprocess.run(["arm-none-eabi-size", "-A", str(o)], capture_output=True, text=True, check=True)
        flash = sum(int(parts[1]) for parts in (line.split() for line in r.stdout.splitlines())
                    if len(parts) >= 2 and parts[0].startswith((".text", ".rodata")) and parts[1].isdigit())
        key = {"tinyc_model_data": "constants", "tinyc_model": "model_text"}.get(stem, "kernels_text")
        out[key] += flash
    return out


def plan_for(graph, inplace: bool):
    if inplace:
        return plan_improved(graph)
    try:
        return plan_improved(graph, inplace=False)
    except TypeError:  # a planner without in-place layers
        return plan_improved(graph)


def symbol_sizes(obj: Path) -> dict[str, int]:
    r = subprocess.run(["arm-none-eabi-nm", "-S", str(obj)], capture_output=True, text=True, check=True)
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 4:
            out[parts[3]] = int(parts[1], 16)
    return out


def build_and_run(path: Path, board_id: str, weights: str, runs: int, work: Path, inplace: bool = True,
                  reference: bool = False) -> dict:
    g = load(path)
    board = get_board(board_id)
    gen_board = dataclasses.replace(board, dsp=False, helium=False) if reference else board
    d = work / f"{path.stem}-{board_id}-{weights}-{int(inplace)}-{int(reference)}"
    gm = generate(g, plan_for(g, inplace), gen_board, d / "model", weights=weights)
    main_c = d / "bench_main.c"
    main_c.write_text(TIMING_MAIN.replace("RUNS", str(runs)))
    proj = render_project(d / "fw", board, [main_c, *gm.sources], emulate=True, include_dirs=[gm.out_dir])
    fw = platformio.build(proj)
    run = emulator.run_to_exit(proj.run_board, fw.elf, timeout=600)
    ticks = [int(t) for t in re.findall(r"TICKS (\d+) SUM \d+ OK", run.output)]
    sums = re.findall(r"SUM (\d+)", run.output)
    if run.exit_code != 0 or len(ticks) != runs:
        raise RuntimeError(f"{path.name} on {board_id}: exit {run.exit_code}, output {run.output[-300:]!r}")
    per_tick = 10**9 // proj.run_board.emulation.systick_hz
    objdir = fw.elf.parent / "src"
    data_o = next(objdir.rglob("tinyc_model_data.o"))
    model_o = next(objdir.rglob("tinyc_model.o"))
    syms = symbol_sizes(data_o)
    names = {t.name: t.index for t in g.tensors}
    layers = []
    for op in g.operators:
        if op.op not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        w = g.op_inputs(op)[1]
        packed = next((p for p in gm.packed_layers if p.op_index == op.index), None)
        sym = f"tinyc_t{names[w.name]}_packed" if packed else f"tinyc_t{names[w.name]}"
        size = syms.get(sym)
        if size is None:  # a specialized kernel re-packed the dense filter under its own name
            size = next((v for k, v in syms.items() if k in (f"tinyc_op{op.index}_dsp_w", f"tinyc_op{op.index}_mve_w")),
                        None)
        layers.append({"op": op.index, "type": op.op, "tensor": w.name, "shape": list(w.shape), "weights": w.size,
                       "mode": packed.mode if packed else "dense", "flash_bytes": size,
                       "bits_per_weight": 8.0 * size / w.size if size else None})
    model_syms = symbol_sizes(model_o)
    scratch = model_syms.get("tinyc_weight_scratch", 0) + model_syms.get("tinyc_dsp_decoded", 0) + sum(
        v for k, v in model_syms.items() if re.fullmatch(r"tinyc_op\d+_decoded", k))  # packed-ram's filters
    use = memuse.measure(fw.elf, gm.sources)
    linked = use.parts.get("runtime kernels", {}).get("flash")
    return {"model": path.stem, "board": board_id, "core": board.core, "weights": weights, "kernels": gm.variant,
            **object_sizes(objdir, gm), "linked_kernels": linked, "linked_flash": use.flash,
            "weight_scratch": scratch, "arena": gm.arena_size,
            "instructions": sorted(t * per_tick for t in ticks)[len(ticks) // 2], "resolution": per_tick,
            "sums": sums, "layers": layers}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", type=Path)
    ap.add_argument("--board", action="append")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--weights", default="packed", choices=("packed", "packed-ram", "auto"),
                    help="the compressed build's storage: packed wherever smaller (default), packed-ram (and "
                         "decoded once at start-up into RAM), or auto (dense while the model fits the board)")
    ap.add_argument("--reference", action="store_true", help="reference kernels only (no DSP/Helium variant)")
    ap.add_argument("--no-inplace", action="store_true",
                    help="plan without in-place layers (they keep dense weights), so every filter can be packed")
    args = ap.parse_args()
    cached: dict[str, Path] = {}
    for f in sorted((paths.cache_dir() / "packed-digits").glob("*/digits_*.tflite"), key=lambda f: f.stat().st_mtime):
        cached[f.stem] = f  # the newest build of each
    models = args.models or sorted(cached.values())
    if not models:
        sys.exit("no models: pass .tflite files, or run tests/test_codegen_packed_models.py once to cache them")
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-packed-") as tmp:
        for path in models:
            for b in args.board or ["mps2-an386"]:
                dense = build_and_run(path, b, "dense", args.runs, Path(tmp), not args.no_inplace, args.reference)
                packed = build_and_run(path, b, args.weights, args.runs, Path(tmp), not args.no_inplace, args.reference)
                rows += [dense, packed]
                same = dense["sums"] == packed["sums"]
                print(f"\n{path.stem} on {b} ({dense['core']}, {dense['kernels']} kernels, "
                      f"{'no ' if args.no_inplace else ''}in-place layers): outputs {'identical' if same else 'DIFFER'} over {args.runs} runs")
                for ld, lp in zip(dense["layers"], packed["layers"]):
                    def num(v):
                        return f"{v:>7,}" if v is not None else "      ?"
                    bits = f"{lp['bits_per_weight']:.3f}" if lp["bits_per_weight"] else "?"
                    print(f"  op {ld['op']:2d} {ld['type']:17s} {'x'.join(map(str, ld['shape'])):>10s} "
                          f"{num(ld['flash_bytes'])} B dense -> {num(lp['flash_bytes'])} B {lp['mode']:10s} "
                          f"({bits} bits/weight)")
                for key, label in (("constants", "constants (tinyc_model_data.o)"),
                                   ("kernels_text", "kernel code (objects)"),
                                   ("linked_kernels", "kernel code (linked)"),
                                   ("linked_flash", "firmware flash (linked)"),
                                   ("model_text", "model code"), ("weight_scratch", "decode RAM (static)"),
                                   ("arena", "arena (RAM)"), ("instructions", "instructions/inference")):
                    d, q = dense[key], packed[key]
                    d, q = ("?" if v is None else f"{v:,}" for v in (d, q))
                    print(f"  {label:32s} {d:>10s} -> {q:>10s}")
                total_d = dense["constants"] + dense["kernels_text"] + dense["model_text"]
                total_p = packed["constants"] + packed["kernels_text"] + packed["model_text"]
                print(f"  {'flash total (model objects)':32s} {total_d:>10,} -> {total_p:>10,} "
                      f"({total_p / total_d:.1%}; linked firmware "
                      f"{packed['linked_flash'] / dense['linked_flash']:.1%})")
                if not same:
                    sys.exit(f"{path.stem}: packed outputs differ from dense on {b}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
