"""tinyc fit on a shared PostgreSQL study (issue 22): a throwaway server started as an unprivileged user
(PostgreSQL refuses root), `tinyc fit --storage postgresql://... --workers 2`: both workers complete trials of
the one study, no configuration is fine-tuned twice, and each worker reads the same Pareto front, the one the
report shows."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import require_tool

PG_BIN = Path("/usr/lib/postgresql")
pytestmark = [pytest.mark.slow, pytest.mark.emulator]


def _pg_bin() -> Path | None:
    found = sorted(PG_BIN.glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server in a temporary folder, reached by its unix socket; stopped and removed after."""
    bindir = _pg_bin()
    if bindir is None:
        require_tool("initdb")  # fails in CI, skips elsewhere: scripts/setup.sh installs postgresql
    user = "nobody"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("tinyc-pg")
        except KeyError:
            subprocess.run(["useradd", "-M", "-r", "-s", "/usr/sbin/nologin", "tinyc-pg"], check=True)
        user = "tinyc-pg"
    d = Path(tempfile.mkdtemp(prefix="tinyc-pg-"))
    os.chmod(d, 0o777)

    def as_user(*cmd):
        pre = ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []
        return subprocess.run(pre + [str(c) for c in cmd], check=True, capture_output=True, text=True)

    as_user(bindir / "initdb", "-D", d / "data", "-A", "trust", "-U", "tinyc")
    as_user(bindir / "pg_ctl", "-D", d / "data", "-w", "-l", d / "log", "-o",
            f"-k {d} -p 55433 -c listen_addresses=''", "start")
    try:
        as_user(bindir / "createdb", "-h", d, "-p", "55433", "-U", "tinyc", "fit")
        yield f"postgresql://tinyc@/fit?host={d}&port=55433"
    finally:
        as_user(bindir / "pg_ctl", "-D", d / "data", "-m", "immediate", "stop")
        shutil.rmtree(d, ignore_errors=True)


def test_two_workers_split_the_trials_and_agree_on_the_front(postgres, tmp_path):
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    out = tmp_path / "fit"
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    r = subprocess.run(["tinyc" if shutil.which("tinyc") else str(Path(os.sys.executable).parent / "tinyc"),
                        "fit", "examples/digits/digits_cnn.keras", "--board", "mps2-an386", "--budget-flash", "40K",
                        "--data", "examples/digits/train.npz", "--test-data", "examples/digits/test.npz",
                        "--storage", postgres, "--workers", "2", "--trials", "4", "--epochs", "1",
                        "--budget-time", "30", "-o", str(out), "--json"],
                       capture_output=True, text=True, env=env, timeout=600,
                       cwd=Path(__file__).resolve().parents[1])
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout[r.stdout.index("{"):])
    workers = res["workers"]
    assert len(workers) == 2 and all(w["trials"] for w in workers)  # both searched
    a, b = (set(w["trials"]) for w in workers)
    assert not a & b  # each trial ran on one worker
    fronts = {tuple(w["front"]) for w in workers}
    assert len(fronts) == 1  # both read the same front from the study
    rep = json.loads((out / "report.json").read_text())
    assert sorted(c["key"] for c in rep["sections"]["fit"]["front"]) == sorted(next(iter(fronts)))
    assert res["study"].startswith("postgresql://") and res["chosen"] and res["chosen"]["linked_flash"]

    # every configuration was fine-tuned at most once in the whole study (tinyc.fit.claims)
    from tinyc.fit.claims import Claims

    claims = Claims(postgres, res["study"].split("#")[-1])
    rows = claims.rows()
    assert len({r["key"] for r in rows}) == len(rows) and all(r["state"] == "done" for r in rows)
    claims.close()
