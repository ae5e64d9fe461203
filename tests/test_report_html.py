"""The report of the bundled example (issue 22): report.html opens in headless Chromium with every section, and
makes no network request (every fetch would go through a recording proxy; the DOM references nothing outside
the file); report.json holds the same sections."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "examples" / "digits"


class _Recorder:
    """A proxy that records every connection Chromium opens through it and answers none."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(2)
            try:
                self.requests.append(c.recv(4096))
            except OSError:
                self.requests.append(b"?")
            c.close()


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return name
    return require_tool("chromium")


def _open(html: Path, tmp: Path) -> tuple[str, list[bytes]]:
    proxy = _Recorder()
    r = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        f"--user-data-dir={tmp / 'profile'}", f"--proxy-server=http://127.0.0.1:{proxy.port}",
                        "--proxy-bypass-list=<-loopback>", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-pings",
                        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
                        "--dump-dom", html.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    proxy.sock.close()
    # Chromium's own service calls (clock, components) go out whatever the page is; the page's are the rest
    own = (b"clients2.google.com", b"update.googleapis.com", b"redirector.gvt1.com", b"edgedl.me.gvt1.com",
           b"accounts.google.com", b"optimizationguide-pa.googleapis.com", b"content-autofill.googleapis.com")
    return r.stdout, [q for q in proxy.requests if not any(h in q.split(b"\r\n")[0] for h in own)]


@pytest.fixture(scope="module")
def example_report(tmp_path_factory):
    """`tinyc build` of the bundled example as `make demo` runs it, with the per-layer profile."""
    require_tool("qemu-system-arm")
    require_tool("arm-none-eabi-gcc")
    from click.testing import CliRunner

    from tinyc.cli import cli

    out = tmp_path_factory.mktemp("demo") / "build"
    r = CliRunner().invoke(cli, ["build", str(DIGITS / "digits_cnn.keras"), "--board", "nucleo-f746", "--emulate",
                                 "--prune", "0.5", "--cluster", "16", "--data", str(DIGITS / "train.npz"),
                                 "--calibration-data", str(DIGITS / "calibration.npz"),
                                 "--test-data", str(DIGITS / "test.npz"), "--per-layer", "-o", str(out)])
    assert r.exit_code == 0, r.output
    return out / "report"


def test_report_opens_in_chromium_with_every_section_and_no_request(example_report, tmp_path):
    from tinyc.report import SECTIONS

    dom, requests = _open(example_report / "report.html", tmp_path)
    assert requests == []  # nothing was fetched
    for name in SECTIONS:
        assert f'id="{name}"' in dom or f"id='{name}'" in dom, name
    filled = dict(re.findall(r'<section id="(\w+)" data-filled="(\w+)"', dom))
    assert {k for k, v in filled.items() if v == "yes"} == set(SECTIONS) - {"fit"}  # fit: `tinyc fit`'s report
    # nothing outside the file is referenced: images are data: URIs, no script, no stylesheet link
    assert not re.search(r'(src|href)="(?!data:|#)', dom)
    assert "<script" not in dom and dom.count('src="data:image/png;base64,') >= 4
    # the user's layer names, the kernel set, the weight format and measured instructions per layer
    for layer in ("conv1", "conv2", "conv3", "logits"):
        assert f">{layer}<" in dom
    assert "arm_dsp" in dom and "packed" in dom


def test_report_json_has_the_same_content(example_report):
    rep = json.loads((example_report / "report.json").read_text())
    s = rep["sections"]
    assert rep["command"] == "build" and s["summary"]["board"] == "nucleo-f746"
    assert s["summary"]["run_board"] == "mps2-an500" and s["summary"]["unit"] == "instructions"
    tot = {r["memory"]: r for r in s["memory"]["rows"] if r["what"] == "total"}
    assert tot["flash"]["predicted"] and tot["flash"]["linked"] and tot["ram"]["linked"]
    rows = s["layers"]["rows"]
    assert s["layers"]["measured"] and all(r["measured"] is not None for r in rows if r["op"] == "CONV_2D")
    assert [r["layer"] for r in rows if r["op"] == "CONV_2D"] == ["conv1", "conv2", "conv3"]
    assert [st["name"] for st in s["compression"]["steps"]][-1] and all(
        st["int8_accuracy"] is not None for st in s["compression"]["steps"])
    assert s["validation"]["samples"] == 360 and s["validation"]["identical"] == 360
    assert s["bench"]["outputs_match"] is True and s["fit"] is None


def test_fit_section_renders_in_chromium(tmp_path):
    """The fit section from a fit result (the Pareto front and the chosen candidate)."""
    from tinyc.report import build_report, write_report

    cand = {"number": 0, "key": "a", "describe": "int8", "accuracy": 0.99, "latency": 1e6, "flash": 50000,
            "sram": 9000, "feasible": False, "measured_latency": None, "linked_flash": None, "linked_ram": None,
            "test_accuracy": None, "note": ""}
    chosen = dict(cand, number=1, key="b", describe="filters -25%", accuracy=0.98, latency=6e5, flash=30000,
                  feasible=True, measured_latency=612345, linked_flash=31000, linked_ram=9500, test_accuracy=0.975)
    fit = {"unit": "instructions", "flash_budget": 40960, "sram_budget": 65536, "latency_target": None,
           "fits": True, "chosen": chosen, "closest": None, "reference": {}, "candidates": [cand, chosen],
           "verified": [], "study": "postgresql://tinyc@/fit#s", "workers": [{"worker": "h:1", "trials": [0]}],
           "seconds": 1.0, "messages": []}
    paths = write_report(build_report("fit", board="mps2-an386", run_board="mps2-an386", fit=fit), tmp_path)
    dom, requests = _open(paths["report.html"], tmp_path)
    assert requests == [] and 'data-filled="yes"' in dom.split('id="fit"')[1][:40]
    assert "filters -25%" in dom and "612,345" in dom
