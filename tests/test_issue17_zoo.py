"""Issue 17's acceptance test: every zoo model that exercises an operator added for issue 17 is built for the
nucleo-f746 and run on its emulated stand-in through the CLI, and its outputs equal TFLite Micro's byte for byte.

`tinyc bench MODEL --board nucleo-f746 --emulate` is `tinyc build --emulate`'s pipeline (check, generate, the
firmware build, QEMU, the outputs compared with TFLite Micro) with its firmware kept in tinyc's build cache, keyed
by the model, the board and every source that goes into the firmware: a rerun with nothing changed only runs QEMU.

Which models: the issue-17 operators are the registry's (tinyc/operators/, and a user's TINYC_OPERATORS) minus the
17 tinyc ran before the issue; a zoo model takes part when its metadata (``ZooModel.ops``, from its declaration's
``examples``) names one of them. An operator that lands later brings its test models with it.

Cost: one firmware per model (the CLI builds one model per firmware), so the models are the declarations' small
ones; they run as parallel `tinyc bench` processes, one per core, once per module: about 5 s a model when its
firmware is built, about 1.5 s when it is cached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.test_zoo import NO_KERAS_MODEL
from tinyc import operators, zoo

ROOT = Path(__file__).resolve().parents[1]
BOARD = "nucleo-f746"
# The operators tinyc ran before issue 17 (the modules of tinyc/operators/ at the registry commit, 5fdbe69): a
# fixed fact of history, never extended; every operator declared since is issue 17's.
BEFORE_ISSUE_17 = frozenset({
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEQUANTIZE", "FULLY_CONNECTED",
    "LOGISTIC", "MAX_POOL_2D", "MEAN", "MUL", "PAD", "QUANTIZE", "RELU", "RELU6", "RESHAPE", "SOFTMAX"})


def issue17_operators() -> frozenset[str]:
    return frozenset(operators.all_ops()) - BEFORE_ISSUE_17


def issue17_models() -> list[str]:
    new = issue17_operators()
    return [n for n in zoo.names() if set(zoo.info(n).ops) & new]


MODELS = issue17_models()


def _bench(model: Path) -> tuple[subprocess.CompletedProcess, float]:
    cmd = [sys.executable, "-m", "tinyc.cli", "bench", str(model), "--board", BOARD, "--emulate", "--runs", "2",
           "--no-report", "--json"]
    start = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    return r, time.monotonic() - start


@pytest.fixture(scope="module")
def benches():
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    paths = zoo.build_all(MODELS)
    start = time.monotonic()
    with ThreadPoolExecutor(max(1, min(len(os.sched_getaffinity(0)), 4))) as pool:
        done = dict(zip(MODELS, pool.map(lambda n: _bench(paths[n]), MODELS)))
    print(f"\nissue 17 zoo: {len(MODELS)} models through `tinyc bench --board {BOARD} --emulate` in "
          f"{time.monotonic() - start:.0f} s")
    return done


def test_the_zoo_has_twenty_models_and_every_issue17_operator():
    assert len(MODELS) >= 20, MODELS
    covered = {op for n in MODELS for op in zoo.info(n).ops} | set(NO_KERAS_MODEL)  # SQUEEZE: a rewritten file
    assert not issue17_operators() - covered, f"operators without a zoo model: {sorted(issue17_operators() - covered)}"


@pytest.mark.toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("name", MODELS)
def test_built_and_run_in_qemu_bit_exact_with_tflm(benches, name):
    r, _ = benches[name]
    assert r.returncode == 0, f"{name}: exit {r.returncode}: {r.stderr.strip()[-1500:]}"
    bench = json.loads(r.stdout[r.stdout.index("{"):])
    assert bench["outputs_match"] is True and not bench["mismatches"], (name, bench["mismatches"])
    assert bench["emulated"] and bench["checksums_identical"], name  # both runs wrote the same outputs
