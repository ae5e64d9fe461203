"""Benchmark of the generated code (not a test): per MLPerf Tiny zoo model and emulated board, instructions
per inference and per MAC, arena, flash (from the linked firmware's map: what the model brings in), for
tinyc's reference kernels and for the optimized kernels the board's core gets, next to the TFLite Micro
figures of issue 8 (TFLM reference kernels and TFLM + CMSIS-NN, arm-none-eabi-gcc 12.2 -O2, same QEMU).

Emulated timing: QEMU -icount shift=0 makes one instruction one nanosecond of virtual time; the mps2
SysTick runs at 25 MHz (a tick is 40 instructions), the mps3-an547 one at 32 MHz (31.25 ns; the figure
is rounded down to a whole tick). The timed window is the tinyc_model_invoke() call only; inputs are
refilled (deterministic pseudo-random int8) before every run. Figures are instructions, never cycles.

The memory plan is tinyc's (plan_improved) without in-place layers where the planner offers them: the
in-place layers run reference in-place kernels, which would hide the kernels being measured.

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
from tinyc.deploy import emulator, platformio  # noqa: E402
from tinyc.deploy.project import render_project  # noqa: E402
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


def plan_for(graph):
    try:
        return plan_improved(graph, inplace=False)
    except TypeError:  # a planner without in-place layers
        return plan_improved(graph)


def map_sizes(map_file: Path, model_objects: set[str]) -> dict[str, int]:
    """Bytes the linker kept from the model's objects (the map's input sections, after --gc-sections):
    kernel code, model code, constants (flash), the arena and other RAM."""
    text = map_file.read_text(errors="replace")
    start = text.find("Linker script and memory map")
    out = {"kernels_text": 0, "model_text": 0, "constants": 0, "arena_bss": 0, "static_ram": 0}
    pending = None
    for line in text[start:].splitlines():
        m = re.match(r"^ (\.[^\s]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+\.o)\s*$", line)
        if m:
            sec, size, obj = m.group(1), int(m.group(2), 16), m.group(3)
        else:
            m2 = re.match(r"^ (\.[^\s]+)\s*$", line)
            if m2:
                pending = m2.group(1)
                continue
            m3 = re.match(r"^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+\.o)\s*$", line)
            if not (m3 and pending):
                pending = None
                continue
            sec, size, obj = pending, int(m3.group(1), 16), m3.group(2)
            pending = None
        stem = Path(obj).name.split(".")[0]
        if stem not in model_objects or size == 0 or not sec.startswith((".text", ".rodata", ".data", ".bss",
                                                                        ".tinyc_arena")):
            continue
        if sec.startswith(".tinyc_arena"):
            out["arena_bss"] += size
        elif sec.startswith((".bss", ".data")):
            out["static_ram"] += size
        elif stem == "tinyc_model_data":
            out["constants"] += size
        elif stem == "tinyc_model":
            out["model_text"] += size
        else:
            out["kernels_text"] += size
    out["flash"] = out["kernels_text"] + out["model_text"] + out["constants"]
    return out


def bench_one(name: str, board_id: str, kernels: str, runs: int, work: Path, default_plan: bool = False) -> dict:
    path = zoo.build(name)
    g = load(path)
    plan = plan_improved(g) if default_plan else plan_for(g)
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
    maps = sorted(fw.elf.parent.glob("*.map"))
    objs = {s.stem for s in gm.sources} - {"bench_main"}
    sizes = map_sizes(maps[0], objs) if maps else {}
    return {"model": name, "board": board_id, "core": board.core, "kernels": gm.variant, "macs": gm.macs,
            "arena": gm.arena_size, **sizes, "instructions": instr, "resolution": round(per_tick, 2),
            "runs": runs, "all_runs_equal": len(set(ticks)) == 1, "distinct_output_sums": len(sums),
            "instr_per_mac": instr / gm.macs if gm.macs else None}


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


def markdown(rows: list[dict], versions: dict[str, str], date: str) -> str:
    by = {(r["model"], r["board"], r["kernels"]): r for r in rows}
    lines = [
        "# Generated code: instructions per inference (QEMU -icount shift=0)", "",
        f"Date: {date}. Toolchain: {versions['gcc']}, -O2. Emulator: {versions['qemu']}. "
        f"tinyc commit {versions['tinyc_commit']} (plus the working tree the command ran on).", "",
        "Instructions are exact emulated instruction counts (not cycles) of one `tinyc_model_invoke()`; "
        "resolution one SysTick tick (40 instructions on mps2). TFLM figures: issue 8 (TFLite Micro, "
        "same QEMU and compiler). `opt` = the kernel set tinyc picks for the core (arm_dsp on M4/M7; on the "
        "M55 arm_mve: Helium, then arm_dsp for the calls it leaves). "
        "Flash = kernel code + model code + constants the linker kept; RAM = arena + the kernels' static "
        "scratch. Memory plan: plan_improved without in-place layers.", "",
        "| model | board (core) | MACs | TFLM ref | TFLM+CMSIS-NN | tinyc ref | tinyc opt | opt / CMSIS-NN "
        "| instr/MAC ref -> opt | arena | scratch | flash ref -> opt (consts) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (model, board, kernels), r in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if kernels != "reference":
            continue
        o = next((v for (m, b, k), v in by.items() if m == model and b == board and k != "reference"), None)
        tf = TFLM.get((model, r["core"]))
        ratio = f"{o['instructions'] / tf[1]:.2f}x" if (o and tf) else "-"
        lines.append(
            f"| {model} | {board} ({r['core']}) | {r['macs']:,} | {fmt_m(tf[0]) if tf else '-'} | "
            f"{fmt_m(tf[1]) if tf else '-'} | {fmt_m(r['instructions'])} | "
            f"{fmt_m(o['instructions']) if o else '-'} | {ratio} | {r['instr_per_mac']:.2f} -> "
            f"{o['instr_per_mac']:.2f} | {r['arena']:,} | {o.get('static_ram', 0) if o else 0:,} | "
            f"{r.get('flash', 0):,} -> {o.get('flash', 0) if o else 0:,} "
            f"({r.get('constants', 0):,} -> {o.get('constants', 0) if o else 0:,}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=zoo.mlperf_names())
    ap.add_argument("--boards", nargs="*", default=list(BOARDS))
    ap.add_argument("--kernels", choices=("both", "reference", "optimized"), default="both")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-write", action="store_true", help="print only; do not update benchmarks/results/")
    ap.add_argument("--default-plan", action="store_true",
                    help="plan_improved as tinyc build uses it (in-place layers where they shrink the arena)")
    args = ap.parse_args()
    sets = ("reference", "optimized") if args.kernels == "both" else (args.kernels,)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-") as tmp:
        for name in args.models:
            for b in args.boards:
                for k in sets:
                    rows.append(bench_one(name, b, k, args.runs, Path(tmp), args.default_plan))
                    r = rows[-1]
                    print(f"{r['model']:16s} {r['board']:11s} {r['kernels']:9s} MACs {r['macs']:>10,}  "
                          f"{r['instructions']:>12,} instr  {r['instr_per_mac']:.2f}/MAC  arena {r['arena']:>7,}  "
                          f"scratch {r.get('static_ram', 0):>5,}  flash {r.get('flash', 0):>8,} "
                          f"(kernels {r.get('kernels_text', 0):,}, model {r.get('model_text', 0):,}, "
                          f"consts {r.get('constants', 0):,})", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if not args.no_write:
        versions = tool_versions()
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "codegen.md").write_text(markdown(rows, versions, date))
        with open(RESULTS / "codegen.csv", "w", newline="") as fh:
            keys = ["model", "board", "core", "kernels", "macs", "instructions", "instr_per_mac", "arena",
                    "static_ram", "flash", "kernels_text", "model_text", "constants", "tflm_ref", "tflm_cmsis_nn",
                    "date", "gcc", "qemu"]
            w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                tf = TFLM.get((r["model"], r["core"]), (None, None))
                w.writerow({**r, "tflm_ref": tf[0], "tflm_cmsis_nn": tf[1], "date": date, "gcc": versions["gcc"],
                            "qemu": versions["qemu"]})
        print(f"wrote {RESULTS / 'codegen.md'} and {RESULTS / 'codegen.csv'}")


if __name__ == "__main__":
    main()
