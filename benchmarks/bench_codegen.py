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

Trained models beside the zoo (issue 14): the public trained int8 models of ../shared/models that tinyc
supports (benchmarks/trained_models.py; the others are listed with tinyc's one-line reason) are measured the
same way, next to their TFLM + CMSIS-NN figures from that folder's README (M7 column for M7 and M4, "M55 asm"
for the M55); model names of the trained-like zoo (tinyc.zoo.trained_like_names()) work too. For the kernels
tinyc picks, two more tables come from `tinyc build`'s own firmware (cached build, as `tinyc bench`):
  - layers by kernel set: the per-layer profile (`tinyc bench --per-layer`: exact instruction counts per layer)
    says which kernel each layer ran; per op (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD,
    AVERAGE_POOL_2D) how many layers and what share of the inference's instructions ran on arm_mve, arm_dsp or
    the portable reference kernels (a kernel macro belongs to the set whose tinyc_rt_<set>.h defines it);
  - SRAM: tinyc check's prediction against the linked .data + .bss + .arena + .stack of the harness firmware,
    and whether that firmware's outputs are bit-identical to the TFLite Micro interpreter.

    .venv/bin/python benchmarks/bench_codegen.py                 # the full table -> benchmarks/results/
    .venv/bin/python benchmarks/bench_codegen.py kws_dscnn --boards mps2-an500 --no-write
    .venv/bin/python benchmarks/bench_codegen.py person_detect hello_world_int8 --kernels optimized --out /tmp/b
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import functools
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import trained_models  # noqa: E402
from tinyc import paths, zoo  # noqa: E402
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

# Issue 14: TFLite Micro + CMSIS-NN built for Helium (-DARM_MATH_MVEI, "M55 asm"), mps3-an547, on the trained
# MLPerf Tiny reference models of these architectures (instructions per inference).
TFLM_M55 = {"kws_dscnn": 1_813_125, "vww_mobilenet": 6_559_531, "ic_resnet8": 4_914_125, "ad_autoencoder": 150_312}

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
    if (tinyc_model_init(NULL) != 0) port_exit(3); /* start-up work (packed-ram filters), outside the timing */
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


def trained() -> dict[str, trained_models.TrainedModel]:
    """The models of ../shared/models (empty when the folder is not there)."""
    try:
        return trained_models.load()
    except OSError:
        return {}


def model_path(name: str) -> Path:
    """A zoo model (built when missing) or a trained model of ../shared/models, by name."""
    if name in trained():
        return trained()[name].path
    return zoo.build(name)


def weights_kind(name: str) -> str:
    if name in trained():
        return "trained (tflite-micro)"
    if name in zoo.trained_like_names():
        return "trained (digits, zoo)"
    return "random (zoo)"


def tflm_cmsis(name: str, core: str) -> tuple[float | None, str]:
    """TFLM + CMSIS-NN instructions per inference for the model on the core, and where the figure comes from."""
    if name in trained():
        col = trained_models.COLUMN_FOR_CORE.get(core)
        return trained()[name].tflm_for(core), f"shared/models README, column {col}"
    if core == "cortex-m55" and name in TFLM_M55:
        return TFLM_M55[name], "issue 14 (trained MLPerf model, M55 asm)"
    if (name, core) in TFLM:
        return TFLM[(name, core)][1], "issue 8"
    return None, "-"


def portable_board(board):
    """``board`` as the code generator sees it for the portable reference kernels: no DSP, no Helium, and on a
    core the scalar Arm set covers (M0/M0+/M3) the Cortex-M23, which no set covers (generation only: the
    firmware is built and run for ``board``)."""
    from tinyc.codegen.generate import SCALAR_CORES

    core = "cortex-m23" if board.core in SCALAR_CORES else board.core
    return dataclasses.replace(board, dsp=False, helium=False, core=core)


def bench_one(name: str, board_id: str, kernels: str, runs: int, work: Path, inplace: bool = True) -> dict:
    path = model_path(name)
    g = load(path)
    plan = plan_improved(g, inplace=inplace)
    board = get_board(board_id)
    gen_board = portable_board(board) if kernels == "reference" else board
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
    return {"model": name, "weights": weights_kind(name), "board": board_id, "core": board.core,
            "kernels": gm.variant, "macs": gm.macs,
            "arena": gm.arena_size, "tflm_head": tflm_head(name), **sizes, "instructions": instr, "resolution": round(per_tick, 2),
            "instructions_min": int(min(ticks) * per_tick), "instructions_max": int(max(ticks) * per_tick),
            "runs": runs, "all_runs_equal": len(set(ticks)) == 1, "distinct_output_sums": len(sums),
            "instr_per_mac": instr / gm.macs if gm.macs else None}


_HEADS: dict[str, int] = {}


def tflm_head(name: str) -> int:
    """TFLM's activation plan for the model, recorded by the tflite-micro interpreter."""
    if name not in _HEADS:
        _HEADS[name] = reference.arena_record(model_path(name)).head
    return _HEADS[name]


# --- the kernels each layer ran, and tinyc check's SRAM, from tinyc build's own firmware -------------------

LAYER_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "AVERAGE_POOL_2D")
SETS = ("arm_mve", "arm_dsp", "arm_scalar", "reference")


@functools.cache
def set_macros(kernel_set: str) -> frozenset[str]:
    """The kernel macros an optimized set implements: those its tinyc_rt_<set>.h defines as a tinyc_<set>_
    function (its own TINYC_DSP_* / TINYC_MVE_* names, and any reference macro it takes over)."""
    header = paths.firmware_dir() / "runtime" / "kernels" / kernel_set / f"tinyc_rt_{kernel_set}.h"
    return frozenset(re.findall(rf"^#define\s+(TINYC_\w+)\s+tinyc_{kernel_set}_\w+", header.read_text(), re.M))


def kernel_set_of(kernel: str, variant: str) -> str:
    """arm_mve, arm_dsp, arm_scalar or reference: the set whose code a layer calling ``kernel`` ran, for a model generated
    with ``variant`` (arm_mve chains to arm_dsp)."""
    chain = {"arm_mve": ("arm_mve", "arm_dsp"), "arm_dsp": ("arm_dsp",), "arm_scalar": ("arm_scalar",)}.get(variant, ())
    return next((s for s in chain if kernel in set_macros(s)), "reference")


def _emulate(board_id: str) -> bool:
    return get_board(board_id).kind != "emulated"  # a real board runs on its stand-in


def layers_by_set(name: str, board_id: str, layer_runs: int | None = None) -> dict:
    """Per-layer profile of tinyc build's firmware (cached build with profiling, as `tinyc bench --per-layer`):
    per op of LAYER_OPS, layers and instruction shares by kernel set, and every layer left on a reference
    kernel."""
    from tinyc.deploy import pipeline
    from tinyc.deploy.bench import open_target
    from tinyc.deploy.profile import profile_link

    path = model_path(name)
    rec = pipeline.cached_build(path, board_id, emulate=_emulate(board_id), profile=True)
    variant = rec.variant
    with open_target(rec.elf, rec.run_board) as link:
        prof = profile_link(link, path, runs=layer_runs, timeout=900)
    per_op: dict[str, dict] = {}
    for x in prof.layers:
        op = x.op if x.op in LAYER_OPS else "other"
        d = per_op.setdefault(op, {"layers": dict.fromkeys(SETS, 0), "cost": dict.fromkeys(SETS, 0.0),
                                   "reference_layers": []})
        ks = kernel_set_of(x.kernel, variant)
        d["layers"][ks] += 1
        d["cost"][ks] += x.cost
        if ks == "reference" and op != "other":
            d["reference_layers"].append(f"{x.op_index}:{x.kernel.removeprefix('TINYC_')}")
    return {"model": name, "board": board_id, "variant": variant, "layer_sum": prof.layer_sum,
            "exact": prof.exact, "runs": prof.runs, "whole": prof.whole, "ops": per_op}


def sram_check(name: str, board_id: str) -> dict:
    """tinyc check's SRAM for the board against the linked .data + .bss + .arena + .stack of tinyc build's
    harness firmware (cached build, as `tinyc build`), and its outputs against TFLite Micro in QEMU."""
    from tinyc.deploy import pipeline
    from tinyc.deploy.bench import bench_link, open_target

    path = model_path(name)
    rec = pipeline.cached_build(path, board_id, emulate=_emulate(board_id))
    sec = rec.memory.sections
    linked = sum(sec.get(k, 0) for k in (".data", ".bss", ".arena", ".stack"))
    predicted = rec.predicted.sram if rec.predicted else None
    with open_target(rec.elf, rec.run_board) as link:
        m = bench_link(link, path, runs=2)
    return {"model": name, "board": board_id, "predicted_sram": predicted, "linked_sram": linked,
            "input_copy": rec.input_copy, "outputs_match": m.outputs_match,
            "harness_instructions": m.median}


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


def markdown(rows: list[dict], versions: dict[str, str], date: str, plan: str, layers: list[dict] = (),
             sram: list[dict] = (), rejected: dict[str, str] | None = None) -> str:
    by = {(r["model"], r["board"], r["kernels"] == "reference"): r for r in rows}
    lines = [
        "# Generated code: instructions per inference (QEMU -icount shift=0)", "",
        f"Date: {date}. Toolchain: {versions['gcc']}, -O2. Emulator: {versions['qemu']}. "
        f"tinyc commit {versions['tinyc_commit']} (plus the working tree the command ran on). "
        f"Command: `{versions['command']}`.", "",
        "Instructions are exact emulated instruction counts (not cycles) of one `tinyc_model_invoke()`, the "
        "median of the runs (where the inputs changed the count, how far apart the runs were); resolution one SysTick tick (40 "
        "instructions on mps2, 31.25 on mps3). Weights: `random (zoo)` = tinyc's zoo rebuild of the architecture "
        "with seeded random weights; `trained (tflite-micro)` = a public trained model of ../shared/models; "
        "`trained (digits, zoo)` = a trained-like zoo model. TFLM+CMSIS-NN: issue 8 for the zoo on M4/M7, issue 14 "
        "(CMSIS-NN for Helium on the trained MLPerf models) for the zoo on the M55, ../shared/models/README.md for "
        "the trained models (M7 column for M7 and M4, `M55 asm` for the M55); same QEMU and compiler. "
        "TFLM head: its activation plan recorded by the tflite-micro interpreter. `opt` = the kernel set tinyc "
        "picks for the core (arm_dsp on M4/M7, arm_mve then arm_dsp on M55). Arena = tinyc's static arena "
        f"(memory plan: {plan}); scratch = the optimized kernels' static RAM outside it. Flash = the whole "
        "benchmark firmware (.text + .rodata + .data: model, kernels, minimal main, startup, C library); "
        "consts = the model's constants in it. Issue-14 goals: opt <= 0.55x TFLM+CMSIS-NN on M4/M7, <= 0.7x "
        "on the M55.", "",
        "| model | weights | board (core) | MACs | TFLM+CMSIS-NN | tinyc ref | tinyc opt | opt / CMSIS-NN "
        "| instr/MAC ref -> opt | arena (vs TFLM head) | scratch | flash opt (vs TFLM) | consts ref -> opt |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    def instr(r):
        if r is None:
            return "-"
        spread = r["instructions_max"] - r["instructions_min"]
        spread = f" (runs within {spread:,})" if spread else ""
        return fmt_m(r["instructions"]) + spread

    order = list(dict.fromkeys((r["model"], r["board"]) for r in rows))
    for model, board in order:
        r, o = by.get((model, board, True)), by.get((model, board, False))
        x = o or r  # the optimized row's memory figures, or the reference one's when only it ran
        tf, _ = tflm_cmsis(model, x["core"])
        per_mac = " -> ".join(f"{v['instr_per_mac']:.2f}" for v in (r, o) if v)
        consts = " -> ".join(f"{v.get('constants', 0):,}" for v in (r, o) if v)
        lines.append(
            f"| {model} | {x.get('weights', '-')} | {board} ({x['core']}) | {x['macs']:,} | "
            f"{fmt_m(tf) if tf else '-'} | {instr(r)} | "
            f"{instr(o)} | {_ratio(o and o['instructions'], tf)} | {per_mac} | "
            f"{x['arena']:,} ({_ratio(x['arena'], x.get('tflm_head'))}) | {x.get('static_ram', 0):,} | "
            f"{x.get('flash', 0):,} ({_ratio(x.get('flash'), TFLM_FLASH.get((model, x['core'])))}) | {consts} |")
    if rejected:
        lines += ["", "Trained models of ../shared/models tinyc does not run (`tinyc check`'s one-line reason):", ""]
        lines += [f"- {name}: {why.split(': ', 1)[-1].split(' (supported:')[0]}" for name, why in rejected.items()]
    if layers:
        lines += ["", "## Layers by kernel set (the kernels tinyc picks)", "",
                  "From `tinyc build`'s firmware built with per-layer profiling (`tinyc bench --per-layer`: each "
                  "layer's exact instruction count, summed over one run per timer phase). Per op: layers on "
                  "arm_mve / arm_dsp / arm_scalar / the portable reference kernels, and their share of the inference's "
                  "instructions (the sum of all layers); `reference layers` names each op's layers on a "
                  "reference kernel (operator index: kernel). Other ops (SOFTMAX, RESHAPE, ...) are one row.", "",
                  "| model | board | op | layers mve / dsp / scalar / ref | instructions mve / dsp / scalar / ref | reference layers |",
                  "|---|---|---|---:|---:|---|"]
        for lay in layers:
            for op in (*LAYER_OPS, "other"):
                d = lay["ops"].get(op)
                if d is None:
                    continue
                n = " / ".join(str(d["layers"][k]) for k in SETS)
                share = " / ".join(f"{d['cost'][k] / lay['layer_sum']:.1%}" if lay["layer_sum"] else "-" for k in SETS)
                refs = ", ".join(d["reference_layers"]) or "-"
                lines.append(f"| {lay['model']} | {lay['board']} | {op} | {n} | {share} | {refs} |")
    if sram:
        lines += ["", "## SRAM: tinyc check's prediction vs the linked firmware", "",
                  "`tinyc build`'s harness firmware (cached build): predicted = `tinyc check`'s SRAM total for the "
                  "board; linked = .data + .bss + .arena + .stack from the ELF. `TFLM-exact`: that firmware's "
                  "outputs equal the TFLite Micro interpreter's (2 runs in QEMU). Issue-14 goal: within 2%.", "",
                  "| model | board | predicted | linked | linked / predicted | TFLM-exact |",
                  "|---|---|---:|---:|---:|---|"]
        for r in sram:
            pred = r["predicted_sram"]
            rel = f"{r['linked_sram'] / pred:.3f}" if pred else "-"
            lines.append(f"| {r['model']} | {r['board']} | {pred:,} | {r['linked_sram']:,} | {rel} | "
                         f"{'yes' if r['outputs_match'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def print_layers(lay: dict) -> None:
    for op in (*LAYER_OPS, "other"):
        d = lay["ops"].get(op)
        if d is None:
            continue
        n = "/".join(str(d["layers"][k]) for k in SETS)
        share = "/".join(f"{100 * d['cost'][k] / lay['layer_sum']:.1f}%" for k in SETS) if lay["layer_sum"] else "-"
        refs = " ".join(d["reference_layers"])
        print(f"    layers {lay['model']:16s} {lay['board']:11s} {op:18s} mve/dsp/scalar/ref {n:10s} instr {share:20s}"
              + (f" ref: {refs}" if refs else ""), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="zoo or ../shared/models names [default: the MLPerf zoo models and "
                    "the trained models of ../shared/models that tinyc supports]")
    ap.add_argument("--boards", nargs="*", default=list(BOARDS))
    ap.add_argument("--kernels", choices=("both", "reference", "optimized"), default="both")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-write", action="store_true", help="print only; do not write the results files")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where codegen.md/.csv go [benchmarks/results]")
    ap.add_argument("--no-inplace", action="store_true",
                    help="plan without in-place layers (default: the plan tinyc build uses)")
    ap.add_argument("--no-layers", action="store_true", help="skip the per-layer kernel-set table")
    ap.add_argument("--layer-runs", type=int, default=None,
                    help="inferences the per-layer profile sums [default: one per timer phase, exact]")
    ap.add_argument("--no-sram", action="store_true", help="skip the SRAM (check vs linked) table")
    args = ap.parse_args()
    supported, rejected = trained_models.supported(trained()) if trained() else ([], {})
    models = args.models or [*zoo.mlperf_names(), *supported]
    for name in models:
        if name in rejected:
            ap.error(f"{name}: {rejected[name]}")
        if name not in trained() and name not in zoo.names() + zoo.trained_like_names():
            ap.error(f"{name}: neither a zoo model nor one of {trained_models.models_dir()}")
    for name, why in rejected.items():
        print(f"not measured: {why}", flush=True)
    sets = ("reference", "optimized") if args.kernels == "both" else (args.kernels,)
    rows, layers, sram = [], [], []
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-") as tmp:
        for name in models:
            for b in args.boards:
                for k in sets:
                    rows.append(bench_one(name, b, k, args.runs, Path(tmp), inplace=not args.no_inplace))
                    r = rows[-1]
                    tf, _ = tflm_cmsis(name, r["core"])
                    print(f"{r['model']:16s} {r['board']:11s} {r['kernels']:9s} MACs {r['macs']:>10,}  "
                          f"{r['instructions']:>12,} instr  {r['instr_per_mac']:.2f}/MAC  arena {r['arena']:>7,}  "
                          f"scratch {r.get('static_ram', 0):>5,}  flash {r.get('flash', 0):>8,} "
                          f"(kernels {r.get('kernels_text', 0):,}, model {r.get('model_text', 0):,}, "
                          f"consts {r.get('constants', 0):,})"
                          + (f"  TFLM+CMSIS-NN {tf:,.0f} -> {r['instructions'] / tf:.2f}x" if tf else ""), flush=True)
                if not args.no_layers and args.kernels != "reference":
                    layers.append(layers_by_set(name, b, args.layer_runs))
                    print_layers(layers[-1])
                if not args.no_sram:
                    sram.append(sram_check(name, b))
                    x = sram[-1]
                    pred = x["predicted_sram"]
                    print(f"    sram   {name:16s} {b:11s} check {pred:,} B, linked .data+.bss+.arena+.stack "
                          f"{x['linked_sram']:,} B ({x['linked_sram'] / pred:.3f}x); harness outputs "
                          f"{'bit-identical to' if x['outputs_match'] else 'DIFFER from'} TFLite Micro", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "layers": layers, "sram": sram}, indent=2))
    if not args.no_write:
        versions = {**tool_versions(), "command": " ".join(["benchmarks/bench_codegen.py", *sys.argv[1:]])}
        plan = "plan_improved without in-place layers" if args.no_inplace else "plan_improved, in-place layers on, as tinyc build uses"
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        out = args.out
        out.mkdir(parents=True, exist_ok=True)
        (out / "codegen.md").write_text(markdown(rows, versions, date, plan, layers, sram,
                                                 rejected if not args.models else None))
        with open(out / "codegen.csv", "w", newline="") as fh:
            keys = ["model", "weights", "board", "core", "kernels", "macs", "instructions", "instr_per_mac", "arena",
                    "static_ram", "flash", "kernels_text", "model_text", "constants", "tflm_head", "tflm_ref",
                    "tflm_cmsis_nn", "tflm_source", "tflm_flash", "instructions_min", "instructions_max", "plan",
                    "date", "gcc", "qemu"]
            w = csv.DictWriter(fh, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                tf_ref = TFLM.get((r["model"], r["core"]), (None, None))[0]
                tf, source = tflm_cmsis(r["model"], r["core"])
                w.writerow({**r, "tflm_ref": tf_ref, "tflm_cmsis_nn": tf, "tflm_source": source,
                            "tflm_flash": TFLM_FLASH.get((r["model"], r["core"])),
                            "plan": plan, "date": date, "gcc": versions["gcc"],
                            "qemu": versions["qemu"]})
        print(f"wrote {out / 'codegen.md'} and {out / 'codegen.csv'}")


if __name__ == "__main__":
    main()
