"""`tinyc validate` of the digits model through the seeded TCP fault proxy (tinyc/deploy/faultproxy.py).

Issue 19: at a 0.1% byte error rate (each byte flipped, dropped or doubled, both directions) validate of the
360 digits test samples must complete with the right results in 10 of 10 runs, and no run may report a wrong
output as correct. This script shows both, and what happens at higher rates:

1. a clean run (no faults) gives the reference results;
2. ten runs at 0.1% (seeds 1..10) must give exactly the clean results: every sample bit-identical to TFLite
   Micro, the same accuracy and confusion matrix;
3. a firmware that gets every 7th inference wrong (built with TINYC_HARNESS_TEST_HOOKS, ``TEST wrong 7 3``)
   through the same proxy: validate must report exactly those 51 samples as differing (and the firmware must
   have run exactly 360 inferences: no resend ran the model again);
4. higher rates (0.3%, 1%, 2%, 3%): completed with the right results, or a one-line error.

The firmware is the digits model (int8, plain PTQ, as tests/test_deploy_models.py makes it) built for the
nucleo-f746 and run on its QEMU stand-in (mps2-an500) without -icount; the CLI reaches it through the proxy
as it reaches a real board, ``--port socket://127.0.0.1:PORT``.

    .venv/bin/python benchmarks/link_faults.py [--runs 10] [--out benchmarks/results]

writes ``link_faults.json`` (every run) and ``link_faults.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinyc import paths  # noqa: E402
from tinyc.buildkey import firmware_key  # noqa: E402
from tinyc.deploy import pipeline  # noqa: E402
from tinyc.deploy.emulator import QemuSession  # noqa: E402
from tinyc.deploy.faultproxy import FaultProxy  # noqa: E402

DIGITS = ROOT / "examples" / "digits"
DATA = DIGITS / "test.npz"
BOARD = "nucleo-f746"
WRONG = (7, 3)  # TEST wrong P R: inference k comes out wrong when k % P == R
_STATS = re.compile(r"the link recovered by itself: ([\d,]+) commands, ([\d,]+) sent again \(([\d,]+) arrived damaged, "
                    r"([\d,]+) replies damaged or lost\), ([\d,]+) damaged lines and ([\d,]+) repeated lines skipped")


def digits_model() -> Path:
    """The digits example as int8 (plain PTQ), cached as tests/test_deploy_models.py caches it."""
    keras, calib = DIGITS / "digits_cnn.keras", DIGITS / "calibration.npz"
    key = hashlib.sha256(keras.read_bytes() + calib.read_bytes()).hexdigest()[:16]
    out = paths.cache_dir() / "test-models" / f"digits-{key}.tflite"
    if not out.is_file():
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
        from tinyc.optimize.pipeline import Options, optimize

        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp.tflite")
        optimize(keras, tmp, Options(), calibration_data=str(calib), force=True)
        tmp.replace(out)
    return out


def hooks_build(model: Path):
    """The same firmware with the harness's test hooks (TEST wrong, TEST count), cached by its key."""
    out = paths.cache_dir() / "bench-link-faults" / firmware_key(model, BOARD, emulate=True, test_hooks=True)
    if not (out / pipeline.BUILD_FILE).is_file():
        pipeline.build_model_firmware(model, BOARD, out, emulate=True, test_hooks=True, force=True, wait=True)
    return pipeline.load_build(out)


def validate(model: Path, rec, rate: float, seed: int, wrong: bool = False, limit: int | None = None,
             timeout: float = 1200) -> dict:
    """One `tinyc validate` through the proxy; what it printed, the proxy's counts and the link's."""
    with QemuSession(rec.run_board, rec.elf, icount=False) as q:
        if wrong:
            with q.link() as link:
                link.sync(timeout=30)
                link.command(f"TEST wrong {WRONG[0]} {WRONG[1]}")
        with FaultProxy(("127.0.0.1", q.port), rate, seed) as px:
            cmd = [sys.executable, "-m", "tinyc.cli", "validate", str(model), "--board", BOARD, "--port", px.url,
                   "--data", str(DATA), "--json", "--timeout", "60"] + (["--limit", str(limit)] if limit else [])
            t0 = time.monotonic()
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                               env=dict(os.environ, PYTHONPATH=str(ROOT)))
            seconds = time.monotonic() - t0
            faults = px.stats.to_json()
        inferences = None
        if wrong:
            with q.link() as link:
                link.sync(timeout=30)
                (_, fields), = link.command("TEST count")
                inferences = int(fields[0].split("=")[1])
    err = " ".join(r.stderr.split())  # rich wraps stderr at 80 columns
    m = _STATS.search(err)
    run = {"rate": rate, "seed": seed, "firmware": "wrong-every-7th" if wrong else "plain", "samples_asked": limit,
           "exit_code": r.returncode, "seconds": round(seconds, 1), "faults": faults, "inferences": inferences,
           "link": dict(zip(("commands", "resends", "damaged_commands", "damaged_or_lost_replies", "damaged_lines",
                             "repeated_lines"), (int(g.replace(",", "")) for g in m.groups()))) if m else None,
           "error": next((x for x in r.stderr.splitlines() if x.startswith("error:")), None)}
    if r.stdout.strip().startswith("{"):
        v = json.loads(r.stdout)
        run["result"] = {"samples": v["samples"], "identical": v["identical"], "target_correct": v["target_correct"],
                         "host_correct": v["host_correct"], "first_mismatches": v["first_mismatches"],
                         "confusion": v["outputs"][0]["confusion"]}
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="runs at 0.1%% (seeds 1..N)")
    ap.add_argument("--rates", default="0.003,0.01,0.02,0.03", help="higher byte error rates, two seeds each")
    ap.add_argument("--high-limit", type=int, default=120, help="samples for rates above 1%% (they are slow)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    a = ap.parse_args()

    model = digits_model()
    plain = pipeline.cached_build(model, BOARD, emulate=True)
    hooks = hooks_build(model)
    print(f"model {model.name}, firmware {plain.elf}", flush=True)

    clean = validate(model, plain, 0.0, 0)
    assert clean["exit_code"] == 0 and clean["result"]["identical"] == 360, clean
    want = clean["result"]
    print(f"clean: {clean['seconds']} s, {want['identical']}/360 identical, {want['target_correct']} correct", flush=True)

    def right(run: dict) -> bool:  # exactly the clean results
        return run["exit_code"] == 0 and run.get("result") == want

    proof = []
    for seed in range(1, a.runs + 1):
        run = validate(model, plain, 0.001, seed)
        run["right"] = right(run)
        proof.append(run)
        print(f"0.1% seed {seed}: {'right' if run['right'] else 'WRONG'} in {run['seconds']} s, "
              f"{run['faults']['to_target']['faults'] + run['faults']['to_host']['faults']} faults, {run['link']}",
              flush=True)

    expected_wrong = [k for k in range(360) if k % WRONG[0] == WRONG[1]]
    wrong_runs = []
    for rate, seed in ((0.0, 0), (0.001, 1), (0.001, 2), (0.001, 3), (0.01, 1)):
        run = validate(model, hooks, rate, seed, wrong=True)
        res = run.get("result") or {}
        run["caught"] = (run["exit_code"] == 2 and res.get("identical") == 360 - len(expected_wrong)
                         and res.get("first_mismatches") == expected_wrong[:10] and run["inferences"] == 360)
        wrong_runs.append(run)
        print(f"wrong-every-7th at {rate:.1%} seed {seed}: {'caught exactly' if run['caught'] else 'NOT CAUGHT'} "
              f"({res.get('identical')} identical, {run['inferences']} inferences) in {run['seconds']} s", flush=True)

    higher = []
    part = None
    for rate in (float(x) for x in a.rates.split(",") if x):
        for seed in (1, 2):
            limit = a.high_limit if rate > 0.01 else None
            if limit and part is None:
                part = validate(model, plain, 0.0, 0, limit=limit)["result"]  # the clean results of those samples
            run = validate(model, plain, rate, seed, limit=limit)
            run["right"] = run["exit_code"] == 0 and run.get("result") == (part if limit else want)
            higher.append(run)
            print(f"{rate:.1%} seed {seed}: exit {run['exit_code']} in {run['seconds']} s, "
                  f"{'right' if run['right'] else run['error']}", flush=True)

    a.out.mkdir(parents=True, exist_ok=True)
    doc = {"model": model.name, "board": BOARD, "run_board": plain.run_board.id, "samples": 360,
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "clean": clean, "proof_at_0.1%": proof, "wrong_outputs": {"every": WRONG, "expected": expected_wrong,
                                                                    "runs": wrong_runs}, "higher_rates": higher}
    (a.out / "link_faults.json").write_text(json.dumps(doc, indent=1) + "\n")
    (a.out / "link_faults.md").write_text(report(doc))
    ok = all(r["right"] for r in proof) and all(r["caught"] for r in wrong_runs)
    print(f"wrote {a.out / 'link_faults.md'}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def _faults(run: dict) -> str:
    f = run["faults"]
    t = {k: f["to_target"][k] + f["to_host"][k] for k in ("flip", "drop", "dup")}
    return f"{t['flip'] + t['drop'] + t['dup']} ({t['flip']} / {t['drop']} / {t['dup']})"


def _link(run: dict) -> str:
    s = run["link"]
    if not s:
        return "-"
    return f"{s['resends']} ({s['damaged_commands']} damaged commands, {s['damaged_or_lost_replies']} damaged or lost replies)"


def report(doc: dict) -> str:
    clean = doc["clean"]
    want = clean["result"]
    lines = [
        "# Validate through a lossy serial line (issue 19)",
        "",
        f"`tinyc validate` of the digits model ({doc['model']}, {doc['samples']} samples of examples/digits/test.npz) "
        f"built for the {doc['board']} and run on its QEMU stand-in {doc['run_board']}, reached through "
        "`tinyc/deploy/faultproxy.py` (`--port socket://...`, the path a real board takes). Each byte, in both "
        "directions, is flipped (one bit), dropped or sent twice with the given probability, the three equally "
        "likely, from a seeded generator. Produced by `benchmarks/link_faults.py` on "
        f"{doc['machine']}; every run is in `link_faults.json`.",
        "",
        f"Clean line: {want['identical']}/360 outputs bit-identical to TFLite Micro, {want['target_correct']}/360 "
        f"correct on the target and {want['host_correct']}/360 with TFLite Micro, in {clean['seconds']} s.",
        "",
        "## 10 runs at 0.1%",
        "",
        "| seed | result | time (s) | bytes to target / to host | faults (flip / drop / dup) | commands | sent again |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in doc["proof_at_0.1%"]:
        f = r["faults"]
        lines.append(f"| {r['seed']} | {'right: ' + str(r['result']['identical']) + '/360 identical, same accuracy and confusion' if r['right'] else 'WRONG: ' + str(r.get('error') or r.get('result'))} "
                     f"| {r['seconds']} | {f['to_target']['bytes']:,} / {f['to_host']['bytes']:,} | {_faults(r)} "
                     f"| {r['link']['commands'] if r['link'] else '-'} | {_link(r)} |")
    n_right = sum(r["right"] for r in doc["proof_at_0.1%"])
    lines += ["", f"**{n_right} of {len(doc['proof_at_0.1%'])} runs completed with exactly the clean results.**", ""]
    w = doc["wrong_outputs"]
    lines += [
        "## A wrong output is never reported as correct",
        "",
        f"The same model built with the harness's test hooks; `TEST wrong {w['every'][0]} {w['every'][1]}` makes the "
        f"firmware damage output byte 0 of every inference k with k % {w['every'][0]} == {w['every'][1]} (and "
        f"compute its checksum over the damaged output, as a kernel bug would): {len(w['expected'])} samples. "
        "Validate must report exactly those as differing from TFLite Micro, and the firmware must have run "
        "exactly 360 inferences (a resend replays a stored reply; it never runs the model again).",
        "",
        "| rate | seed | samples reported differing | first ones | inferences run | verdict | time (s) |",
        "|---:|---:|---:|---|---:|---|---:|",
    ]
    for r in w["runs"]:
        res = r.get("result") or {}
        lines.append(f"| {r['rate']:.1%} | {r['seed']} | {360 - res['identical'] if res else '-'} | "
                     f"{res.get('first_mismatches')} | {r['inferences']} | "
                     f"{'exactly the wrong ones' if r['caught'] else 'MISSED'} | {r['seconds']} |")
    lines += ["", "## Higher rates", "",
              "Rates above 1% run on the first samples only (`samples`), compared with a clean run of the same "
              "samples.", "",
              "| rate | seed | samples | outcome | time (s) | faults (flip / drop / dup) | sent again |",
              "|---:|---:|---:|---|---:|---:|---|"]
    for r in doc["higher_rates"]:
        outcome = "right: exactly the clean results" if r["right"] else (r.get("error") or "wrong results")
        if len(outcome) > 160:
            outcome = outcome[:157] + "..."
        lines.append(f"| {r['rate']:.1%} | {r['seed']} | {r['samples_asked'] or 360} | {outcome.replace('|', '/')} "
                     f"| {r['seconds']} | {_faults(r)} | {_link(r)} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
