"""Measure what each kernel costs per call, per kernel set, and write tinyc/codegen/kernel_costs.py.

For every kernel set an emulated board runs (arm_dsp: mps2-an500, arm_mve: mps3-an547, the portable
kernels and the scalar Arm set: mps2-an385 for ARMv7-M and microbit for ARMv6-M), the zoo's MLPerf models and its single-op
CONV/DEPTHWISE/FC models are generated four times: filters as they are (dense), and rewritten to 16
levels per channel (LUT), sparse (60% zero, SPARSE_LUT) and +-m (SIGN), stored packed wherever smaller
(tests/weights_fixture.py). Each model runs once in QEMU with every kernel call wrapped in a timer span
(tinyc.fit.profile.profile_layers: -icount, so instructions), and per kernel (a packed kernel per mode)
a non-negative least-squares fit gives instructions = a*MACs + b*outputs + c*weights + d.

    .venv/bin/python scripts/measure_kernel_costs.py [--sets arm_dsp,arm_mve,arm_scalar,arm_scalar-v6m,reference,reference-v6m]
        [--out tinyc/codegen/kernel_costs.py] [--samples samples.json]

A model that does not fit a board's emulated memory is skipped. Rerun after a kernel changes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.weights_fixture import KINDS, compressible  # noqa: E402
from tinyc.codegen import instructions as I  # noqa: E402

SETS = {"arm_dsp": "mps2-an500", "arm_mve": "mps3-an547", "arm_scalar": "mps2-an385", "arm_scalar-v6m": "microbit",
        "reference": "mps2-an385", "reference-v6m": "microbit"}
# the portable kernels measured on a core no optimized set covers, run on the same machine: the Cortex-M3 and
# the microbit's M0 take the scalar Arm set (ARMv8-M Baseline code runs on the M3 unchanged)
PORTABLE_CORE = {"reference": "cortex-m23"}  # reference-v6m: no such core on the microbit; kept as measured
MODELS = ("kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder", "conv_same_s1", "conv_valid_s2_relu",
          "conv_dilated_relu6", "conv_same_s2_even", "dwconv_mult2_s2", "dwconv_valid_dilated", "dwconv_5x5_relu6",
          "fc_odd", "fc_relu_3d")


def samples_for(set_name: str, board_id: str, models, log, models_dir: Path | None = None) -> list[dict]:
    from tinyc.analyze.memory import plan_improved
    from tinyc.boards import get_board
    from tinyc.codegen.generate import plan_layout, variant_for
    from tinyc.codegen.lower import lower
    from tinyc.codegen.specialize import specialize
    from tinyc.fit.profile import profile_layers
    from tinyc.model.graph import parse
    from tinyc import zoo

    import dataclasses

    board = get_board(board_id)
    if set_name in PORTABLE_CORE:
        board = dataclasses.replace(board, core=PORTABLE_CORE[set_name])
    variant = variant_for(board)[0]
    assert variant == set_name.replace("-v6m", ""), (set_name, variant)
    out = []
    for name in models:
        base = (models_dir / f"{name}.tflite" if models_dir else zoo.build(name)).read_bytes()
        # the sets with packed matmul kernels also measure the portable packed kernels they fall back to
        # where the board cannot hold a decoded filter (tinyc.codegen.footprint.fit_packed)
        runs = [(kind, False) for kind in KINDS]
        if variant in ("arm_dsp", "arm_mve"):
            runs += [(kind, True) for kind in KINDS if kind != "dense"]
        for kind, portable in runs:
            data = compressible(base, kind, seed=len(name))
            g = parse(data)
            offsets, arena, order = plan_layout(g, plan_improved(g))
            weights = "dense" if kind == "dense" else "packed"
            keep = {}
            if portable:
                from tinyc.analyze.weights import WeightPlan

                keep = {c.index: "measured portable" for c in lower(g, offsets, arena, order, weights=weights).calls
                        if c.kernel.packed}
                weights = WeightPlan("packed", tuple(sorted(keep)), (), portable=tuple(sorted(keep.items())))
            label = f"{kind}{' (portable)' if portable else ''}"
            t0 = time.monotonic()
            try:
                measured = profile_layers(data, board, board, weights=weights)
            except Exception as exc:  # noqa: BLE001 - e.g. a model larger than the machine's memory
                log(f"{set_name} {name}/{label}: skipped ({str(exc).splitlines()[0][:120]})")
                continue
            chosen = weights.choice() if portable else weights
            low = specialize(lower(g, offsets, arena, order, weights=chosen), variant, None, keep).lowered
            modes = I.packed_modes(low, g)
            for call in low.calls:  # the portable pass adds its packed calls only (the rest ran in the first)
                if call.index in measured and (not portable or call.index in keep):
                    out.append({"model": name, "storage": kind, "op": call.index, "kernel": I.kernel_key(call, modes),
                                "features": list(I.features(g, call)), "instructions": measured[call.index]})
            log(f"{set_name} {name}/{label}: {len(measured)} layers, {sum(measured.values()):,} instructions "
                f"({time.monotonic() - t0:.1f} s)")
    return out


def nnls(A: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares of the relative error (each call counts alike, small or large) with every coefficient
    >= 0 (drop the most negative column, solve again)."""
    w = 1.0 / np.maximum(y, 1.0)
    A, y = A * w[:, None], y * w
    scale = np.maximum(np.abs(A).max(axis=0), 1e-12)
    As = A / scale
    active = list(range(A.shape[1]))
    while active:
        sol, *_ = np.linalg.lstsq(As[:, active], y, rcond=None)
        if (sol >= 0).all():
            full = np.zeros(A.shape[1])
            full[active] = sol
            return full / scale
        del active[int(np.argmin(sol))]
    return np.zeros(A.shape[1])


def fit(samples: list[dict]) -> tuple[dict, dict]:
    by: dict[str, list[dict]] = {}
    for s in samples:
        by.setdefault(s["kernel"], []).append(s)
    coef, quality = {}, {}
    for key, ss in sorted(by.items()):
        A = np.array([s["features"] for s in ss], dtype=np.float64)
        y = np.array([s["instructions"] for s in ss], dtype=np.float64)
        if len(ss) < 4:  # too few calls for four terms: instructions proportional to MACs (else outputs)
            col = 0 if A[:, 0].any() else 1
            keep = np.zeros(A.shape[1])
            keep[col] = 1.0
            c = nnls(A * keep, y)
        else:
            c = nnls(A, y)
        pred = A @ c
        rel = np.abs(pred - y) / np.maximum(y, 1.0)
        coef[key] = tuple(float(f"{v:.6g}") for v in c)
        quality[key] = {"samples": len(ss), "median_rel_error": round(float(np.median(rel)), 4),
                        "instructions": int(y.sum())}
    return coef, quality


def write_module(path: Path, costs: dict, quality: dict, boards: dict) -> None:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    measured = {"date": datetime.date.today().isoformat(), "commit": commit, "boards": boards,
                "unit": "instructions (QEMU -icount shift=0: exact counts, not cycles)",
                "method": "scripts/measure_kernel_costs.py: zoo MLPerf + single-op CONV/DEPTHWISE/FC models, "
                          "filters dense and rewritten to LUT/SPARSE_LUT/SIGN values (packed where smaller), one "
                          "inference per model with each kernel call timed (tinyc.fit.profile), then per kernel "
                          "a non-negative least-squares fit of a*MACs + b*outputs + c*weights + d",
                "features": list(I.FEATURES), "fit": quality}
    lines = ['"""Instructions per kernel call, measured in QEMU by scripts/measure_kernel_costs.py (do not edit by',
             'hand: rerun it after a kernel changes). COSTS[kernel set][kernel] = (a, b, c, d): a call costs',
             'a*MACs + b*outputs + c*weights + d instructions; a packed kernel is keyed "<macro>/<packing mode>".',
             'MEASURED says how, where and when, with each fit\'s sample count and median relative error."""',
             "", f"MEASURED = {json.dumps(measured, indent=4, sort_keys=True)}", "", "COSTS = {"]
    for set_name in sorted(costs):
        lines.append(f"    {set_name!r}: {{")
        for k, v in sorted(costs[set_name].items()):
            lines.append(f"        {k!r}: {tuple(v)!r},")
        lines.append("    },")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    path.write_text(text.replace(": true", ": True").replace(": false", ": False").replace(": null", ": None"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--models-dir", default=None, help="take the zoo models' .tflite files from here "
                    "[default: tinyc.zoo's cache, building what is missing]")
    ap.add_argument("--out", default=str(ROOT / "tinyc" / "codegen" / "kernel_costs.py"))
    ap.add_argument("--samples", default=None, help="also write every measured call here (JSON)")
    ap.add_argument("--merge", action="store_true", help="keep the sets of the existing table not measured now")
    ap.add_argument("--refit", default=None, help="fit the calls of an earlier --samples file instead of measuring")
    args = ap.parse_args()
    costs, quality, boards, all_samples = {}, {}, {}, {}
    if args.merge:
        from tinyc.codegen import kernel_costs as old

        costs = {k: dict(v) for k, v in old.COSTS.items()}
        quality = dict(old.MEASURED.get("fit", {}))
        boards = dict(old.MEASURED.get("boards", {}))
    earlier = json.loads(Path(args.refit).read_text()) if args.refit else {}
    for set_name in args.sets.split(","):
        s = earlier[set_name] if args.refit else samples_for(set_name, SETS[set_name], args.models.split(","), lambda m: print(m, flush=True),
                        Path(args.models_dir) if args.models_dir else None)
        all_samples[set_name] = s
        costs[set_name], quality[set_name] = fit(s)
        boards[set_name] = SETS[set_name]
        for k, q in quality[set_name].items():
            print(f"{set_name} {k}: {costs[set_name][k]} ({q['samples']} calls, median error "
                  f"{q['median_rel_error']:.1%})", flush=True)
    write_module(Path(args.out), costs, quality, boards)
    if args.samples:
        Path(args.samples).write_text(json.dumps(all_samples))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
