"""`tinyc validate` through the seeded fault proxy (tinyc/deploy/faultproxy.py): a short subset of
benchmarks/link_faults.py, which runs all 360 digits samples ten times at 0.1% and higher rates.

The firmware runs in QEMU; the CLI reaches it as it would a real board (``--port socket://...``), through
the proxy, which flips, drops and doubles bytes in both directions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import require_tool
from tests.test_deploy_models import digits_tflite  # noqa: F401 - the session fixture (cached int8 digits)
from tinyc.cli import cli
from tinyc.deploy.emulator import QemuSession
from tinyc.deploy.faultproxy import FaultProxy

DATA = Path(__file__).resolve().parents[1] / "examples" / "digits" / "test.npz"


def _validate(model: Path, rec, rate: float, seed: int, limit: int) -> tuple[dict, str, dict]:
    with QemuSession(rec.run_board, rec.elf, icount=False) as q, FaultProxy(("127.0.0.1", q.port), rate, seed) as px:
        r = CliRunner().invoke(cli, ["validate", str(model), "--board", "nucleo-f746", "--port", px.url, "--data",
                                     str(DATA), "--limit", str(limit), "--json", "--timeout", "30"])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout), r.stderr, px.stats.to_json()


@pytest.mark.toolchain
@pytest.mark.emulator
def test_validate_through_a_lossy_line_gives_exactly_the_clean_results(digits_tflite):  # noqa: F811
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    from tinyc.deploy import pipeline

    rec = pipeline.cached_build(digits_tflite, "nucleo-f746", emulate=True)
    clean, clean_err, _ = _validate(digits_tflite, rec, 0.0, 0, 120)
    noisy, noisy_err, faults = _validate(digits_tflite, rec, 0.001, 11, 120)
    assert "recovered by itself" not in clean_err
    assert faults["to_target"]["faults"] + faults["to_host"]["faults"] >= 20, faults  # the line really was bad
    assert "the link recovered by itself" in noisy_err
    for v in (clean, noisy):
        assert v["samples"] == v["identical"] == 120
    keep = ("identical", "target_correct", "host_correct", "first_mismatches")
    assert {k: noisy[k] for k in keep} == {k: clean[k] for k in keep}
    assert noisy["outputs"][0]["confusion"] == clean["outputs"][0]["confusion"]
