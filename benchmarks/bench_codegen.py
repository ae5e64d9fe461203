"""Benchmark of the generated code (not a test): per zoo model, MACs, code and constant sizes from the
compiled objects (arm-none-eabi-size), the arena, and instructions per inference on the emulated
Cortex-M7 (mps2-an500) and Cortex-M4 (mps2-an386), plus instructions per MAC.

Emulated timing: QEMU -icount shift=0 makes one instruction one nanosecond of virtual time; the mps2
SysTick runs at 25 MHz, so a tick is 40 instructions (the resolution of every figure). The timed
window is the tinyc_model_invoke() call only; inputs are refilled (deterministic pseudo-random int8)
before every run. Figures are instructions, never cycles.

    .venv/bin/python benchmarks/bench_codegen.py [MODEL ...] [--runs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
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

BOARDS = ("mps2-an500", "mps2-an386")  # Cortex-M7, Cortex-M4

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


def object_sizes(objdir: Path, gm) -> dict[str, int]:
    """text/data/bss of the compiled model objects, split into kernels, model code and constants."""
    kernel_names = {s.stem for s in gm.sources} - {"tinyc_model", "tinyc_model_data"}
    out = {"kernels_text": 0, "model_text": 0, "constants": 0, "arena_bss": 0, "runtime_data": 0}
    for o in sorted(objdir.rglob("*.o")):
        stem = o.name.split(".")[0]
        if stem not in kernel_names | {"tinyc_model", "tinyc_model_data"}:
            continue
        r = subprocess.run(["arm-none-eabi-size", "-A", str(o)], capture_output=True, text=True, check=True)
        sections = {}
        for line in r.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
                sections[parts[0]] = sections.get(parts[0], 0) + int(parts[1])
        text = sum(v for k, v in sections.items() if k.startswith((".text", ".rodata")))
        if stem == "tinyc_model_data":
            out["constants"] += text
        elif stem == "tinyc_model":
            out["model_text"] += text
            out["arena_bss"] += sections.get(".tinyc_arena", 0)
        else:
            out["kernels_text"] += text
        out["runtime_data"] += sum(v for k, v in sections.items() if k.startswith((".data", ".bss")))
    return out


def bench_one(name: str, board_id: str, runs: int, work: Path) -> dict:
    path = zoo.build(name)
    g = load(path)
    plan = plan_improved(g)
    board = get_board(board_id)
    d = work / f"{name}-{board_id}"
    gm = generate(g, plan, board, d / "model")
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
    per_tick = 10**9 // tick_hz
    instr = sorted(t * per_tick for t in ticks)[len(ticks) // 2]
    sizes = object_sizes(fw.elf.parent / "src", gm)
    return {"model": name, "board": board_id, "core": board.core, "macs": gm.macs, "arena": gm.arena_size,
            "plan_arena": plan.arena_size, **sizes, "instructions": instr, "resolution": per_tick,
            "runs": runs, "all_runs_equal": len(set(ticks)) == 1, "distinct_output_sums": len(sums),
            "instr_per_mac": instr / gm.macs if gm.macs else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=zoo.mlperf_names())
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-") as tmp:
        for name in args.models:
            for b in BOARDS:
                rows.append(bench_one(name, b, args.runs, Path(tmp)))
                r = rows[-1]
                print(f"{r['model']:16s} {r['core']:10s} MACs {r['macs']:>10,}  kernels {r['kernels_text']:>6,} B  "
                      f"model code {r['model_text']:>6,} B  constants {r['constants']:>8,} B  "
                      f"arena {r['arena']:>7,} B (plan {r['plan_arena']:,}, .tinyc_arena {r['arena_bss']:,})  "
                      f"{r['instructions']:>13,} instr (+-{r['resolution']})  "
                      + (f"{r['instr_per_mac']:.2f} instr/MAC" if r['instr_per_mac'] else ""), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
