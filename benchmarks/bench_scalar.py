"""Benchmark of the scalar Arm kernel set (issue 18; not a test): instructions per inference on the cores without
the DSP extension, next to TFLite Micro + CMSIS-NN on the same core.

Cores: the Cortex-M3 (mps2-an385) and the Cortex-M0: ARMv6-M firmware (-mcpu=cortex-m0) run on mps2-an385, as
../shared/models/README.md measured TFLM + CMSIS-NN's M0 column ("M0 = ARMv6-M code run on the Cortex-M3 model":
the same instructions execute, and the SysTick gives an exact count at 40-instruction resolution). The microbit
(nRF51, 16 KiB of SRAM) runs the same M0 code; tests/test_kernels_arm_scalar.py checks its outputs there.

Each model is built twice per core with benchmarks/bench_codegen.py's timing main (the memory plan tinyc build
uses, in-place layers on): with the portable reference kernels and with the set tinyc picks (arm_scalar).
TFLM + CMSIS-NN figures: the trained models' "M3" and "M0 (on M3 model)" columns of ../shared/models/README.md;
the MLPerf Tiny KWS and AD rebuilds: issue 18's measurements of TFLM + CMSIS-NN on the trained MLPerf models of
those architectures (no figure was measured for VWW and IC on these cores, nor AD on the M0).

    .venv/bin/python benchmarks/bench_scalar.py                  # -> benchmarks/results/scalar.md/.csv
    .venv/bin/python benchmarks/bench_scalar.py kws_dscnn --cores m3 --no-write
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import benchmarks.bench_codegen as B  # noqa: E402
from benchmarks import trained_models  # noqa: E402
from tinyc import zoo  # noqa: E402
from tinyc.boards import get_board  # noqa: E402

CORES = {"m3": ("mps2-an385", "cortex-m3", "M3"), "m0": ("mps2-an385-m0", "cortex-m0", "M0 (on M3 model)")}
# Issue 18: TFLM + CMSIS-NN on the trained MLPerf Tiny models of these architectures (same QEMU and compiler).
TFLM_ZOO = {("kws_dscnn", "m3"): 10_531_720, ("ad_autoencoder", "m3"): 956_280, ("kws_dscnn", "m0"): 28_992_640}
MODELS = ("kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder", "person_detect", "micro_speech_quantized",
          "hello_world_int8", "trained_lstm_int8", "dtln_noise_suppression", "micro_speech_lstm")


def board(board_id: str):
    """mps2-an385, or the Cortex-M0 build run on it."""
    if board_id == "mps2-an385-m0":
        return dataclasses.replace(get_board("mps2-an385"), core="cortex-m0", id="mps2-an385-m0")
    return get_board(board_id)


def tflm(name: str, core: str) -> int | None:
    models = B.trained()
    if name in models:
        return models[name].tflm.get(CORES[core][2])
    return TFLM_ZOO.get((name, core))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=list(MODELS))
    ap.add_argument("--cores", nargs="*", default=list(CORES), choices=list(CORES))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--out", type=Path, default=B.RESULTS)
    args = ap.parse_args()
    B.get_board = board  # bench_one builds for the board this returns
    generate = B.generate
    mode = {"reference": False}

    def gen(graph, plan, gen_board, out_dir, **kw):  # the reference kernels: generated for no particular core
        if mode["reference"]:  # dense filters, as "auto" stores them on mps2-an385 (4 MiB)
            return generate(graph, plan, None, out_dir, **{"weights": "dense", **kw})
        return generate(graph, plan, gen_board, out_dir, **kw)

    B.generate = gen
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-scalar-") as tmp:
        for name in args.models:
            for core in args.cores:
                pair = {}
                for kernels in ("reference", "optimized"):
                    mode["reference"] = kernels == "reference"
                    r = B.bench_one(name, CORES[core][0], kernels, args.runs, Path(tmp))
                    pair[kernels] = r
                ref, opt = pair["reference"], pair["optimized"]
                tf = tflm(name, core)
                row = {"model": name, "weights": B.weights_kind(name), "core": CORES[core][1],
                       "board": CORES[core][0], "kernels": opt["kernels"], "macs": opt["macs"],
                       "reference": ref["instructions"], "optimized": opt["instructions"], "tflm_cmsis_nn": tf,
                       "ratio": round(opt["instructions"] / tf, 3) if tf else None,
                       "instr_per_mac": round(opt["instr_per_mac"], 3), "arena": opt["arena"],
                       "scratch": opt["static_ram"], "flash": opt["flash"], "flash_reference": ref["flash"],
                       "all_runs_equal": opt["all_runs_equal"]}
                rows.append(row)
                print(f"{name:24s} {core} ref {ref['instructions']:>12,}  opt {opt['instructions']:>12,} "
                      f"({opt['instr_per_mac']:.2f}/MAC)  TFLM+CMSIS-NN {tf or 0:>12,}"
                      + (f"  {opt['instructions'] / tf:.2f}x" if tf else ""), flush=True)
    if args.no_write:
        return
    versions = B.tool_versions()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = " ".join(["benchmarks/bench_scalar.py", *sys.argv[1:]])
    lines = ["# The scalar Arm kernels (Cortex-M3, Cortex-M0): instructions per inference (QEMU -icount shift=0)", "",
             f"Date: {date}. Toolchain: {versions['gcc']}, -O2. Emulator: {versions['qemu']}. tinyc commit "
             f"{versions['tinyc_commit']}. Command: `{cmd}`.", "",
             "Exact emulated instruction counts (not cycles) of one `tinyc_model_invoke()`, median of the runs, "
             "resolution one SysTick tick (40 instructions). M0 = the Cortex-M0 build (-mcpu=cortex-m0, ARMv6-M) "
             "run on mps2-an385, as ../shared/models/README.md measured TFLM + CMSIS-NN's M0 column. Memory plan: "
             "plan_improved with in-place layers, as `tinyc build` uses. `ref` = tinyc's portable reference "
             "kernels, `opt` = the arm_scalar set tinyc picks for these cores. TFLM+CMSIS-NN: "
             "../shared/models/README.md (trained models) and issue 18 (trained MLPerf KWS and AD); `-`: not "
             "measured. Issue-18 goal: opt < TFLM+CMSIS-NN on every model and core, aim 0.7x. Every output of "
             "these builds is checked bit-identical to TFLite Micro by tests/test_kernels_arm_scalar.py.", "",
             "| model | weights | core | MACs | TFLM+CMSIS-NN | tinyc ref | tinyc opt | opt / CMSIS-NN | instr/MAC opt "
             "| arena | scratch | flash opt (ref) |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        tf = r["tflm_cmsis_nn"]
        tf_s = f"{tf:,}" if tf else "-"
        ratio = f"{r['ratio']:.2f}x" if tf else "-"
        lines.append(f"| {r['model']} | {r['weights']} | {r['core']} | {r['macs']:,} | {tf_s} | "
                     f"{r['reference']:,} | {r['optimized']:,} | {ratio} | "
                     f"{r['instr_per_mac']:.2f} | {r['arena']:,} | {r['scratch']:,} | {r['flash']:,} "
                     f"({r['flash_reference']:,}) |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scalar.md").write_text("\n".join(lines) + "\n")
    with open(args.out / "scalar.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {args.out / 'scalar.md'} and {args.out / 'scalar.csv'}")


if __name__ == "__main__":
    main()
