"""Child processes that die with tinyc.

tinyc starts QEMU, the TFLite Micro reference worker (tinyc.model.reference), PlatformIO and the uploaders
through ``popen``/``run`` here. Each child:

- runs in its own process group, so one ``killpg`` also reaches what it started (PlatformIO -> SCons -> gcc),
  and a Ctrl-C in the terminal reaches tinyc alone, which then stops its children itself;
- gets the Linux parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)`` between fork and exec) when it is
  started from the main thread, so even a SIGKILL of tinyc takes QEMU with it (the kernel sends the signal
  when the thread that forked the child dies: a child started from another thread goes without it);
- is registered until it exits.

``install()`` (the CLI's entry point) turns SIGTERM, SIGHUP and SIGINT into: stop every child (its process
group: SIGTERM, then SIGKILL after a short grace; then any other descendant of tinyc found in /proc), then
raise ``Interrupted`` so that clean-up code runs (``finally``, context managers) and the CLI exits with
code 1 and one line. A second signal while that clean-up runs exits at once.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

__all__ = ["Interrupted", "popen", "run", "stop", "stop_all", "install", "descendants"]

_PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)
_live: dict[int, subprocess.Popen] = {}  # pid -> child; plain dict operations only (a signal handler reads it)
_handling = False


class Interrupted(BaseException):
    """tinyc received SIGTERM, SIGHUP or SIGINT; its children are already stopped. A BaseException (as
    KeyboardInterrupt) so that no ``except Exception`` swallows it."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signum)

    @property
    def name(self) -> str:
        return "Ctrl-C (SIGINT)" if self.signum == signal.SIGINT else signal.Signals(self.signum).name

    def __str__(self) -> str:
        return f"interrupted by {self.name}"


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        f = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    f.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    f.restype = ctypes.c_int
    return f


_PRCTL = _load_prctl()


def _die_with(parent: int):
    """The child's side, between fork and exec: SIGKILL when the parent dies; if it died already, go now."""
    prctl = _PRCTL

    def child() -> None:
        prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return child


def popen(args: Any, **kw: Any) -> subprocess.Popen:
    """``subprocess.Popen`` in its own process group, with the parent-death signal, registered until stopped."""
    kw.setdefault("process_group", 0)
    if _PRCTL is not None and "preexec_fn" not in kw and threading.current_thread() is threading.main_thread():
        kw["preexec_fn"] = _die_with(os.getpid())
    p = subprocess.Popen(args, **kw)
    _live[p.pid] = p
    return p


def _signal_group(p: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(p.pid, sig)  # the child leads its own group (popen's process_group=0)
    except (ProcessLookupError, PermissionError):
        if p.poll() is None:
            try:
                p.send_signal(sig)
            except OSError:
                pass


def stop(p: subprocess.Popen, grace: float = 1.0) -> int | None:
    """Stop ``p`` and its process group (SIGTERM, then SIGKILL after ``grace`` seconds); its exit status."""
    if p.poll() is None:
        _signal_group(p, signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    _signal_group(p, _SIGKILL)  # what it started may outlive it in its group
    try:
        rc = p.wait(5)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL (uninterruptible IO)
        rc = None
    _live.pop(p.pid, None)
    return rc


def forget(p: subprocess.Popen) -> None:
    """``p`` has exited and was waited for: no longer tinyc's to stop."""
    _live.pop(p.pid, None)


def run(args: Any, *, input: Any = None, capture_output: bool = False, timeout: float | None = None,
        check: bool = False, **kw: Any) -> subprocess.CompletedProcess:
    """``subprocess.run`` through ``popen``: on a timeout or any exception (Interrupted included) the child's
    whole process group is stopped before it propagates."""
    if capture_output:
        kw["stdout"] = kw["stderr"] = subprocess.PIPE
    if input is not None:
        kw["stdin"] = subprocess.PIPE
    p = popen(args, **kw)
    try:
        out, err = p.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        stop(p, grace=0.2)
        out, err = p.communicate()
        raise subprocess.TimeoutExpired(p.args, exc.timeout, out, err) from None
    except BaseException:
        stop(p, grace=0.2)
        raise
    finally:
        if p.poll() is not None:
            forget(p)
    if check and p.returncode:
        raise subprocess.CalledProcessError(p.returncode, p.args, out, err)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def descendants(root: int | None = None) -> list[int]:
    """Every live process below ``root`` (default: this one), from /proc (empty where there is none)."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for e in entries:
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat[stat.rfind(b")") + 2:].split()  # the name may hold spaces and parentheses
        if len(rest) < 2 or rest[0] == b"Z":
            continue
        children.setdefault(int(rest[1]), []).append(int(e))
    found, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), ()):
            found.append(c)
            todo.append(c)
    return found


def stop_all(grace: float = 1.0) -> int:
    """Stop every registered child (its process group) and every other descendant; how many there were.
    Safe to call from a signal handler: it takes no lock."""
    procs = [p for p in list(_live.values()) if p.poll() is None]
    for p in procs:
        _signal_group(p, signal.SIGTERM)
    others = [pid for pid in descendants() if pid not in _live]
    for pid in others:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and (any(p.poll() is None for p in procs) or _alive(others)):
        time.sleep(0.02)
    for p in procs:
        stop(p, grace=0)
    for pid in descendants():  # what is left, and what a child started meanwhile
        try:
            os.kill(pid, _SIGKILL)
        except OSError:
            pass
    return len(procs) + len(others)


def _alive(pids: list[int]) -> bool:
    for pid in pids:
        try:
            os.kill(pid, 0)
        except OSError:
            continue
        try:  # a zombie child of ours counts as gone
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[-1].split()[:1] == [b"Z"]:
                    continue
        except OSError:
            continue
        return True
    return False


def _on_signal(signum: int, _frame: Any) -> None:
    global _handling
    if _handling:  # a second signal while the first one's clean-up runs: stop now
        stop_all(grace=0.2)
        os._exit(1)
    _handling = True
    stop_all()
    raise Interrupted(signum)


def install() -> None:
    """The CLI's signal handling (main thread only): SIGTERM, SIGHUP and SIGINT stop every child, then raise
    ``Interrupted``; at exit, any child still registered is stopped."""
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, _on_signal)
    atexit.register(stop_all, 0.5)
