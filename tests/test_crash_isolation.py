"""Crash isolation: the TFLite Micro reference runs in its own process, and nothing tinyc starts outlives it.

tinyc runs here as the real command (``python -m tinyc.cli``) with a mark in its environment that every
process it starts inherits; after it ends, /proc must hold no live process carrying the mark (QEMU, the
reference worker, or anything else). A signal is sent to tinyc's pid only, as ``kill`` or a closing
terminal would; the exit must be the documented code with one error line, never a traceback or a signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_tool
from tests.test_deploy_models import digits_tflite  # noqa: F401 - the session fixture (cached int8 digits)
from tinyc.errors import TinycError
from tinyc.model import reference

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "examples" / "digits"


def _marked(mark: str) -> list[tuple[int, str]]:
    """Live processes (zombies aside) whose environment carries ``mark``: (pid, command line)."""
    needle = f"TINYC_TEST_MARK={mark}".encode()
    found = []
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == os.getpid():
            continue
        try:
            with open(f"/proc/{e}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{e}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[-1].split()[:1] == [b"Z"]:
                    continue
            with open(f"/proc/{e}/cmdline", "rb") as f:
                found.append((int(e), f.read().replace(b"\0", b" ").decode(errors="replace")))
        except OSError:
            continue
    return found


def _wait_until(cond, timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


class _Tinyc:
    """tinyc as a child of the test, in its own session (the test's signals reach tinyc alone)."""

    def __init__(self, args: list[str], **env: str):
        self.mark = uuid.uuid4().hex
        full = dict(os.environ, TINYC_TEST_MARK=self.mark, PYTHONPATH=str(ROOT), **env)
        self.proc = subprocess.Popen([sys.executable, "-m", "tinyc.cli", *args], cwd=ROOT, env=full,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)

    def children(self) -> list[tuple[int, str]]:
        return [(pid, cmd) for pid, cmd in _marked(self.mark) if pid != self.proc.pid]

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        _, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, err

    def cleanup(self) -> None:
        """Whatever a failed test left: killed, so it cannot spin on."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid, _ in _marked(self.mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture(scope="module")
def digits_build(digits_tflite):  # noqa: F811
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    from tinyc.deploy import pipeline

    return digits_tflite, pipeline.cached_build(digits_tflite, "nucleo-f746", emulate=True).out_dir


@pytest.fixture(scope="module")
def long_test_set(tmp_path_factory) -> Path:
    """The digits test set ten times over: a validate that streams for half a minute, to be interrupted."""
    d = np.load(DIGITS / "test.npz")
    path = tmp_path_factory.mktemp("data") / "long.npz"
    np.savez(path, x=np.concatenate([d["x"]] * 10), y=np.concatenate([d["y"]] * 10))
    return path


def _validate(digits_build, data: Path, **env: str) -> _Tinyc:
    model, firmware = digits_build
    return _Tinyc(["validate", str(model), "--board", "nucleo-f746", "--emulate", "--firmware", str(firmware),
                   "--data", str(data)], **env)


def _running(t: _Tinyc) -> bool:
    kids = [cmd for _, cmd in t.children()]
    return any("qemu-system-arm" in c for c in kids) and any("tinyc.model.reference --worker" in c for c in kids)


@pytest.mark.toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_a_qemu_run_stops_tinyc_and_everything_it_started(sig, digits_build, long_test_set):
    t = _validate(digits_build, long_test_set)
    try:
        assert _wait_until(lambda: _running(t) or t.proc.poll() is not None, 60), "QEMU and the reference never ran"
        assert t.proc.poll() is None, t.finish()
        time.sleep(0.3)  # samples are streaming through QEMU
        os.kill(t.proc.pid, sig)
        rc, err = t.finish(30)
        name = "Ctrl-C (SIGINT)" if sig == signal.SIGINT else sig.name
        assert rc == 1, err
        assert "Traceback" not in err
        errors = [x for x in err.splitlines() if x.startswith("error:")]
        assert errors == [f"error: interrupted by {name}: stopped, with every process it started (no output is "
                          "left half-written)"], err
        assert _wait_until(lambda: not _marked(t.mark), 3), _marked(t.mark)
    finally:
        t.cleanup()


@pytest.mark.toolchain
@pytest.mark.emulator
def test_a_sigkill_of_tinyc_takes_qemu_with_it(digits_build, long_test_set):
    # SIGKILL runs no handler: the parent-death signal the children were started with does the work
    t = _validate(digits_build, long_test_set)
    try:
        assert _wait_until(lambda: _running(t) or t.proc.poll() is not None, 60)
        os.kill(t.proc.pid, signal.SIGKILL)
        t.proc.wait(10)
        assert _wait_until(lambda: not _marked(t.mark), 3), _marked(t.mark)
    finally:
        t.cleanup()


@pytest.mark.toolchain
@pytest.mark.emulator
def test_a_crash_of_the_reference_is_one_line_and_leaves_nothing_running(digits_build):
    # TINYC_TEST_REFERENCE_CRASH=N: the reference worker segfaults at its N-th inference (test hook)
    model, _ = digits_build
    t = _validate(digits_build, DIGITS / "test.npz", TINYC_TEST_REFERENCE_CRASH="5")
    try:
        rc, err = t.finish(60)
        assert rc == 2, err
        assert "Traceback" not in err
        lines = [x for x in err.splitlines() if x.strip()]
        assert lines[-1].startswith(f"error: {model}: the TFLite Micro interpreter crashed (SIGSEGV) while running "
                                    "an inference; tinyc is unharmed"), err
        assert len([x for x in lines if x.startswith("error:")]) == 1
        assert _wait_until(lambda: not _marked(t.mark), 3), _marked(t.mark)
    finally:
        t.cleanup()


def _weights_too_big(model: Path) -> bytes:
    """The model with its FULLY_CONNECTED weights declared 10 x 2^24 over a 1,280-byte buffer: TFLite
    Micro reads 160 MB past the buffer and segfaults (the issue's "weights disagree with the shape")."""
    import flatbuffers

    from tinyc.model.graph import parse, schema

    g = parse(model.read_bytes())
    fc = next(op for op in g.operators if op.op == "FULLY_CONNECTED")
    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAs(model.read_bytes(), 0))
    m.subgraphs[0].tensors[fc.inputs[1]].shape = np.array([10, 1 << 24], np.int32)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_a_model_that_segfaults_tflite_micro_is_an_error_and_the_reference_goes_on(digits_tflite, tmp_path):  # noqa: F811
    bad = tmp_path / "crashes_tflm.tflite"
    bad.write_bytes(_weights_too_big(digits_tflite))
    x = np.zeros((1, 8, 8, 1), np.int8)
    with pytest.raises(TinycError, match=rf"^{bad}: the TFLite Micro interpreter crashed \(SIGSEGV\) while running an "
                                         r"inference; tinyc is unharmed") as e:
        reference.run(bad, [x])
    assert "\n" not in str(e.value)
    good = reference.interpreter(digits_tflite)  # a new worker serves the next model
    good.set_input(x, 0)
    good.invoke()
    assert good.get_output(0).shape == (1, 10)
