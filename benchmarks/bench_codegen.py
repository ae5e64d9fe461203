"""Benchmark of the generated code (not a test): per MLPerf Tiny zoo model and emulated board, instructions
per inference and per MAC, arena, flash, for tinyc's reference kernels and for the optimized kernels the
board's core gets (arm_dsp on Cortex-M4/M7, arm_mve chained to arm_dsp on the Cortex-M55), next to the
TFLite Micro figures of issue 8 (TFLM reference kernels and TFLM + CMSIS-NN, arm-none-eabi-gcc 12.2 -O2,
same QEMU) and TFLM's activation plan ("head", recorded by the tflite-micro interpreter).

Emulated timing: QEMU -icount shift=0 makes one instruction one nanosecond of virtual time; the mps2
SysTick runs at 25 MHz (a tick is 40 instructions), the mps3-an547 one at 32 MHz (31.25 ns; the figure
is rounded down to a whole tick). The timed window is the tinyc_model_invoke() call only; inputs are
refilled (deterministic pseudo-random int8) before every run. Figures are instructions, never cycles.

The memory plan is the one `tinyc build` uses (plan_improved, in-place layers where they shrink the
arena); --no-inplace plans without in-place layers. Flash is the whole benchmark firmware (.text +
.rodata + .data: model, kernels, a minimal main, startup, C library), the model's share split out.

    .venv/bin/python benchmarks/bench_codegen.py                 # the full table -> benchmarks/results/
    .venv/bin/python benchmarks/bench_codegen.py kws_dscnn --boards mps2-an500 --no-write
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinyc import zoo  # noqa: E402
from tinyc.analyze.memory import plan_improved  # noqa: E402
from tinyc.boards import get_board  # noqa: E402
from tinyc.codegen import generate  # noqa: E402
from tinyc.deploy import emulator, memuse, platformio  # noqa: E402
from tinyc.deploy.project import render_project  # noqa: E402
from tinyc.model import reference  # noqa: E402
from tinyc.model.graph import load  # noqa: E402

BOARDS = ("mps2-an500", "mps2-an386", "mps3-an547")  # Cortex-M7, Cortex-M4, Cortex-M55
RESULTS = ROOT / "benchmarks" / "results"

# Issue 8: TFLite Micro under QEMU -icount shift=0, arm-none-eabi-gcc 12.2 -O2 (instructions per inference).
TFLM = {
    ("kws_dscnn", "cortex-m7"): (44.2e6, 7.64e6), ("vww_mobilenet", "cortex-m7"): (103.2e6, 24.0e6),
    ("ic_resnet8", "cortex-m7"): (109.3e6, 30.0e6), ("ad_autoencoder", "cortex-m7"): (1.96e6, 0.583e6),
    ("kws_dscnn", "cortex-m4"): (43.1e6, 7.70e6), ("vww_mobilenet", "cortex-m4"): (100.4e6, 24.1e6),
    ("ic_resnet8", "cortex-m4"): (107.4e6, 29.9e6), ("ad_autoencoder", "cortex-m4"): (1.95e6, 0.583e6),
}

# Issue 8: TFLM firmware flash (.text + .rodata + .data of the whole firmware, model included), bytes.
TFLM_FLASH = {
    ("kws_dscnn", "cortex-m7"): 128_912, ("vww_mobilenet", "cortex-m7"): 408_272,
    ("ic_resnet8", "cortex-m7"): 171_136, ("ad_autoencoder", "cortex-m7"): 320_704,
    ("kws_dscnn", "cortex-m4"): 130_852, ("vww_mobilenet", "cortex-m4"): 410_212,
    ("ic_resnet8", "cortex-m4"): 172_820, ("ad_autoencoder", "cortex-m4"): 323_168,
}

TIMING_MAIN = r"""/* Benchmark main: times tinyc_model_invoke() only, refilling the inputs before every run. */
#include <stdint.h>
#include <stdio.h>
#include "tinyc_port.h"
#include "tinyc_model.h"

static uint32_t lcg = 12345u;

static void fill_inputs(void)
{
    for (int i = 0; i < TINYC_MODEL_NUM_INPUTS; ++i) {
        const tinyc_tensor_t *t = tinyc_model_input(i);
        uint8_t *p = (uint8_t *)t->data;
        for (uint32_t k = 0; k < t->bytes; ++k) {
            lcg = lcg * 1664525u + 1013904223u;
            p[k] = (uint8_t)(lcg >> 24);
        }
        if (t->dtype == TINYC_FLOAT32) {
            float *f = (float *)t->data;
            for (uint32_t k = 0; k < t->bytes / 4u; ++k) f[k] = (float)((int32_t)(k * 2654435761u) >> 8) / 8388608.0f;
        }
    }
}

static void put_u32(uint32_t v)
{
    char buf[12];
    int n = 0;
    do { buf[n++] = (char)('0' + v % 10u); v /= 10u; } while (v);
    while (n) port_putc((uint8_t)buf[--n]);
}

int main(void)
{
    for (int r = 0; r < RUNS; ++r) {
        fill_inputs();
        port_span_begin();
        const int rc = tinyc_model_invoke();
        const uint64_t ticks = port_span_end();
        uint32_t sum = 0;
        const tinyc_tensor_t *o = tinyc_model_output(0);
        for (uint32_t k = 0; k < o->bytes; ++k) sum = sum * 31u + ((const uint8_t *)o->data)[k];
        port_puts("TICKS ");
        put_u32((uint32_t)ticks);
        port_puts(" SUM ");
        put_u32(sum);
        port_puts(rc == 0 ? " OK\n" : " FAIL\n");
    }
    return 0;
}
"""


def bench_one(name: str, board_id: str, kernels: str, runs: int, work: Path, inplace: bool = True) -> dict:
    path = zoo.build(name)
    g = load(path)
    plan = plan_improved(g, inplace=inplace)
    board = get_board(board_id)
    gen_board = dataclasses.replace(board, dsp=False, helium=False) if kernels == "reference" else board
    d = work / f"{name}-{board_id}-{kernels}"
    gm = generate(g, plan, gen_board, d / "model")
    main_c = d / "bench_main.c"
    main_c.write_text(TIMING_MAIN.replace("RUNS", str(runs)))
    proj = render_project(d / "fw", board, [main_c, *gm.sources], emulate=True, include_dirs=[gm.out_dir])
    fw = platformio.build(proj)
    run = emulator.run_to_exit(proj.run_board, fw.elf, timeout=600)
    ticks = [int(t) for t in re.findall(r"TICKS (\d+) SUM \d+ OK", run.output)]
    sums = set(re.findall(r"SUM (\d+)", run.output))
    if run.exit_code != 0 or len(ticks) != runs:
        raise RuntimeError(f"{name} on {board_id}: exit {run.exit_code}, output {run.output[-300:]!r}")
    tick_hz = proj.run_board.emulation.systick_hz
    per_tick = 10**9 / tick_hz
    instr = int(sorted(ticks)[len(ticks) // 2] * per_tick)
    use = memuse.measure(fw.elf, [s for s in gm.sources if s.suffix == ".c"])
    part = {k: use.parts.get(k, {"flash": 0, "ram": 0}) for k in ("model constants", "model code", "runtime kernels")}
    sizes = {"flash": use.flash, "constants": part["model constants"]["flash"],
             "model_text": part["model code"]["flash"], "kernels_text": part["runtime kernels"]["flash"],
             "static_ram": sum(v["ram"] for v in part.values())}
    return {"model": name, "board": board_id, "core": board.core, "kernels": gm.variant, "macs": gm.macs,
            "arena": gm.arena_size, "tflm_head": tflm_head(name), **sizes, "instructions": instr, "resolution": round(per_tick, 2),
            "instructions_min": int(min(ticks) * per_tick), "instructions_max": int(max(ticks) * per_tick),
            "runs": runs, "all_runs_equal": len(set(ticks)) == 1, "distinct_output_sums": len(sums),
            "instr_per_mac": instr / gm.macs if gm.macs else None}


_HEADS: dict[str, int] = {}


def tflm_head(name: str) -> int:
    """TFLM's activation plan for the zoo model, recorded by the tflite-micro interpreter."""
    if name not in _HEADS:
        _HEADS[name] = reference.arena_record(zoo.build(name)).head
    return _HEADS[name]


def tool_versions() -> dict[str, str]:
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()
        except (OSError, IndexError):
            return "?"
    commit = first(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return {"gcc": first(["arm-none-eabi-gcc", "--version"]), "qemu": first(["qemu-system-arm", "--version"]),
            "tinyc_commit": commit}


def fmt_m(v: float) -> str:
    return f"{v / 1e6:.3f}M"


def _ratio(a, b) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def markdown(rows: list[dict], versions: dict[str, str], date: str, plan: str) -> str:
    by = {(r["model"], r["board"], r["kernels"] == "reference"): r for r in rows}
    lines = [
        "# Generated code: instructions per inference (QEMU -icount shift=0)", "",
        f"Date: {date}. Toolchain: {versions['gcc']}, -O2. Emulator: {versions['qemu']}. "
        f"tinyc commit {versions['tinyc_commit']} (plus the working tree the command ran on). "
        f"Command: `{versions['command']}`.", "",
        "Instructions are exact emulated instruction counts (not cycles) of one `tinyc_model_invoke()`, the "
        "median of the runs (where the inputs changed the count, how far apart the runs were); resolution one SysTick tick (40 "
        "instructions on mps2, 31.25 on mps3). TFLM figures: issue 8 (TFLite Micro, same QEMU and compiler); "
        "TFLM head: its activation plan recorded by the tflite-micro interpreter. `opt` = the kernel set tinyc "
        "picks for the core (arm_dsp on M4/M7, arm_mve then arm_dsp on M55). Arena = tinyc's static arena "
        f"(memory plan: {plan}); scratch = the optimized kernels' static RAM outside it. Flash = the whole "
        "benchmark firmware (.text + .rodata + .data: model, kernels, minimal main, startup, C library); "
        "consts = the model's constants in it. Issue-8 goals: opt <= 0.6x TFLM+CMSIS-NN (KWS, VWW, IC) and "
        "fewer on all four; arena <= 0.75x TFLM head; flash below TFLM's, <= 0.5x on KWS.", "",
        "| model | board (core) | MACs | TFLM+CMSIS-NN | tinyc ref | tinyc opt | opt / CMSIS-NN "
        "| instr/MAC ref -> opt | arena (vs TFLM head) | scratch | flash opt (vs TFLM) | consts ref -> opt |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    def instr(r):
        if r is None:
            return "-"
        spread = r["instructions_max"] - r["instructions_min"]
        spread = f" (runs within {spread:,})" if spread else ""
        return fmt_m(r["instructions"]) + spread

    for model, board in sorted({(m, b) for m, b, _ in by}):
        r, o = by.get((model, board, True)), by.get((model, board, False))
        x = o or r  # the optimized row's memory figures, or the reference one's when only it ran
        tf = TFLM.get((model, x["core"]), (None, None))
        per_mac = " -> ".join(f"{v['instr_per_mac']:.2f}" for v in (r, o) if v)
        consts = " -> ".join(f"{v.get('constants', 0):,}" for v in (r, o) if v)
        lines.append(
            f"| {model} | {board} ({x['core']}) | {x['macs']:,} | {fmt_m(tf[1]) if tf[1] else '-'} | {instr(r)} | "
            f"{instr(o)} | {_ratio(o and o['instructions'], tf[1])} | {per_mac} | "
            f"{x['arena']:,} ({_ratio(x['arena'], x.get('tflm_head'))}) | {x.get('static_ram', 0):,} | "
            f"{x.get('flash', 0):,} ({_ratio(x.get('flash'), TFLM_FLASH.get((model, x['core'])))}) | {consts} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=zoo.mlperf_names())
    ap.add_argument("--boards", nargs="*", default=list(BOARDS))
    ap.add_argument("--kernels", choices=("both", "reference", "optimized"), default="both")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-write", action="store_true", help="print only; do not update benchmarks/results/")
    ap.add_argument("--no-inplace", action="store_true",
                    help="plan without in-place layers (default: the plan tinyc build uses)")
    args = ap.parse_args()
    sets = ("reference", "optimized") if args.kernels == "both" else (args.kernels,)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-") as tmp:
        for name in args.models:
            for b in args.boards:
                for k in sets:
                    rows.append(bench_one(name, b, k, args.runs, Path(tmp), inplace=not args.no_inplace))
                    r = rows[-1]
                    print(f"{r['model']:16s} {r['board']:11s} {r['kernels']:9s} MACs {r['macs']:>10,}  "
                          f"{r['instructions']:>12,} instr  {r['instr_per_mac']:.2f}/MAC  arena {r['arena']:>7,}  "
                          f"scratch {r.get('static_ram', 0):>5,}  flash {r.get('flash', 0):>8,} "
                          f"(kernels {r.get('kernels_text', 0):,}, model {r.get('model_text', 0):,}, "
                          f"consts {r.get('constants', 0):,})", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if not args.no_write:
        versions = {**tool_versions(), "command": " ".join(["benchmarks/bench_codegen.py", *sys.argv[1:]])}
        plan = "plan_improved without in-place layers" if args.no_inplace else "plan_improved, in-place layers on, as tinyc build uses"
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "codegen.md").write_text(markdown(rows, versions, date, plan))
        with open(RESULTS / "codegen.csv", "w", newline="") as fh:
            keys = ["model", "board", "core", "kernels", "macs", "instructions", "instr_per_mac", "arena",
                    "static_ram", "flash", "kernels_text", "model_text", "constants", "tflm_head", "tflm_ref",
                    "tflm_cmsis_nn", "tflm_flash", "instructions_min", "instructions_max", "plan",
                    "date", "gcc", "qemu"]
            w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                tf = TFLM.get((r["model"], r["core"]), (None, None))
                w.writerow({**r, "tflm_ref": tf[0], "tflm_cmsis_nn": tf[1], "tflm_flash": TFLM_FLASH.get((r["model"], r["core"])),
                            "plan": plan, "date": date, "gcc": versions["gcc"],
                            "qemu": versions["qemu"]})
        print(f"wrote {RESULTS / 'codegen.md'} and {RESULTS / 'codegen.csv'}")


if __name__ == "__main__":
    main()
