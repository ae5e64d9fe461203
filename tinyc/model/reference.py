"""The TFLite Micro reference: golden outputs and TFLM's recorded arena use, from its Python interpreter.

The interpreter runs in a worker process, never in tinyc's own: a model that crashes TFLite Micro's C++ code
(a segfault on a malformed model) ends the worker, and tinyc reports it in one line naming the model
(``ReferenceCrash``) instead of dying with it, with QEMU orphaned. One worker serves the whole tinyc process:
it is started on first use (about 0.3 s: Python, numpy, tflite-micro), kept, and started again after a
crash; it dies with tinyc (tinyc.procs: own process group, parent-death signal; it also leaves when its
request pipe closes). Requests are length-prefixed pickles over two pipes between tinyc and its own child.

``interpreter()`` returns a stand-in with the binding's methods (set_input, invoke, get_output, the details,
reset); inputs are sent with the next invoke and all outputs come back with it, so a sample costs one round
trip (about 0.1 ms over the interpreter's own time). TFLite Micro's own prints (stdout and stderr of the C++
code) go to the worker's log, not to tinyc's terminal; ``print_allocations()`` is read there for the arena.
"""

from __future__ import annotations

import os
import pickle
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.errors import TinycError

__all__ = ["ArenaRecord", "ReferenceCrash", "arena_record", "run", "interpreter", "prestart", "shutdown"]

REQUEST_TIMEOUT = 600.0  # seconds for one request (a model load, an inference, the arena record)
_HEADER = struct.Struct("<Q")


class ReferenceCrash(TinycError):
    """The TFLite Micro interpreter crashed (or hung) on a model; tinyc itself is fine."""


@dataclass(frozen=True)
class ArenaRecord:
    """TFLM's own figures for one model (x86 host build: 8-byte pointers)."""

    total: int
    head: int  # the non-persistent area: planned tensors and scratch buffers
    tail: int  # persistent allocations: TfLiteEvalTensor, node structs, op data, quantization params
    sections: dict[str, int] = field(default_factory=dict)  # tail breakdown, name -> bytes used
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "head": self.head, "tail": self.tail, "sections": self.sections,
                "host": "x86_64 (8-byte pointers)"}


# -- tinyc's side ------------------------------------------------------------------------------------


def _signal_name(rc: int | None) -> str:
    if rc is None:
        return "it stopped answering"
    if rc < 0:
        try:
            return signal.Signals(-rc).name
        except ValueError:
            return f"signal {-rc}"
    return f"exit code {rc}"


class _Worker:
    """The worker process and its pipes. ``generation`` counts the workers started, so an interpreter made
    in a worker that has since crashed is loaded again in the new one."""

    generation = 0

    def __init__(self) -> None:
        from tinyc import procs

        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        self.log = tempfile.TemporaryFile(prefix="tinyc-tflm-")  # the C++ code's prints
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])  # the folder holding the tinyc package
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        try:
            self.proc = procs.popen([sys.executable, "-m", "tinyc.model.reference", "--worker", str(req_r),
                                     str(rep_w)], pass_fds=(req_r, rep_w), stdin=subprocess.DEVNULL,
                                    stdout=self.log, stderr=self.log, env=env)
        except OSError as exc:
            raise TinycError(f"cannot start the TFLite Micro reference process ({exc.strerror})") from None
        finally:
            os.close(req_r)
            os.close(rep_w)
        self.wfd, self.rfd = req_w, rep_r
        self.owner = os.getpid()  # a forked copy of tinyc starts its own worker
        _Worker.generation += 1
        self.generation = _Worker.generation
        self.frees: list[int] = []  # interpreters dropped by tinyc, freed with the next request

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        from tinyc import procs

        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.proc.wait(1.0)  # it leaves when its request pipe closes
        except subprocess.TimeoutExpired:
            pass
        procs.stop(self.proc, grace=0)
        self.log.close()

    def _send(self, data: bytes) -> None:
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            n = os.write(self.wfd, view)
            view = view[n:]

    def _recv_exact(self, n: int, deadline: float) -> bytes:
        import time

        out = bytearray()
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.rfd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(self.rfd, min(n - len(out), 1 << 20))
            if not chunk:
                raise EOFError
            out += chunk
        return bytes(out)

    def request(self, op: str, args: tuple, timeout: float) -> tuple:
        import time

        frees, self.frees = self.frees, []
        self._send(pickle.dumps((op, args, frees), protocol=pickle.HIGHEST_PROTOCOL))
        deadline = time.monotonic() + timeout
        (n,) = _HEADER.unpack(self._recv_exact(_HEADER.size, deadline))
        return pickle.loads(self._recv_exact(n, deadline))


_lock = threading.RLock()
_worker: _Worker | None = None


def shutdown() -> None:
    """Stop the worker (the next use starts a new one)."""
    global _worker
    with _lock:
        if _worker is not None:
            _worker.close()
            _worker = None


def _get_worker() -> _Worker:
    global _worker
    if _worker is not None and _worker.owner != os.getpid():  # the parent's, inherited through fork
        _worker = None
    if _worker is not None and not _worker.alive():  # gone between requests: start another, nothing was lost
        _worker.close()
        _worker = None
    if _worker is None:
        _worker = _Worker()
    return _worker


def _call(op: str, *args: Any, name: str, doing: str, timeout: float = REQUEST_TIMEOUT) -> Any:
    """One request to the worker; a crash or a hang of the interpreter is a ReferenceCrash naming ``name``."""
    global _worker
    with _lock:
        w = _get_worker()
        try:
            reply = w.request(op, args, timeout)
        except (EOFError, BrokenPipeError, TimeoutError, OSError) as exc:
            hung = isinstance(exc, TimeoutError)
            if hung:
                w.proc.kill()
            try:
                rc = w.proc.wait(5)
            except subprocess.TimeoutExpired:
                rc = None
            w.close()
            _worker = None
            what = f"did not finish within {timeout:g} s" if hung else f"crashed ({_signal_name(rc)})"
            raise ReferenceCrash(
                f"{name}: the TFLite Micro interpreter {what} while {doing}; tinyc is unharmed (the interpreter "
                f"runs in its own process) but has no reference outputs for this model, which is probably "
                f"malformed ('tinyc inspect' shows its graph)") from None
        except pickle.UnpicklingError:
            shutdown()
            raise ReferenceCrash(f"{name}: the TFLite Micro reference process sent a damaged answer while "
                                 f"{doing}") from None
    status, *rest = reply
    if status == "ok":
        return rest[0]
    kind, message = rest
    if kind == "reject":
        raise TinycError(f"{name}: TFLite Micro rejected the model: {message}")
    if kind == "invoke":
        raise TinycError(f"{name}: TFLite Micro failed to run the model: {message}")
    exc_type = {"ValueError": ValueError, "IndexError": IndexError, "TypeError": TypeError}.get(kind, RuntimeError)
    raise exc_type(message)


def prestart() -> None:
    """Start the worker now (its imports take about 0.3 s) so that it is ready when the reference is needed."""
    with _lock:
        _get_worker()


def _model_bytes(model: bytes | str | Path) -> tuple[bytes, str]:
    if isinstance(model, (str, Path)):
        try:
            return Path(model).read_bytes(), str(model)
        except OSError as exc:
            raise TinycError(f"{model}: cannot read it ({exc.strerror})") from None
    data = bytes(model)
    return data, f"the model ({len(data):,} bytes)"


class Interpreter:
    """A TFLite Micro interpreter living in the reference worker, with the binding's methods."""

    def __init__(self, data: bytes, arena_size: int | None, name: str):
        self._tinyc_model_bytes = data
        self.name = name
        self._arena_size = arena_size
        self._handle = -1
        self._generation = -1
        self._staged: dict[int, np.ndarray] = {}
        self._outputs: list[np.ndarray] | None = None
        self._stateful: bool | None = None  # has variable tensors (an LSTM's state); found on the first invoke
        self._load()

    def _load(self) -> None:
        handle, self._in, self._out = _call("load", self._tinyc_model_bytes, self._arena_size, name=self.name,
                                            doing="loading the model")
        self._handle, self._generation = handle, _Worker.generation

    def _live_handle(self) -> int:
        """The interpreter's handle in the current worker (loaded again there after a crash of another model)."""
        with _lock:
            if _worker is None or _worker.generation != self._generation or not _worker.alive():
                self._load()
            return self._handle

    def __del__(self) -> None:
        try:
            w = _worker
            if w is not None and w.generation == self._generation and self._handle >= 0:
                w.frees.append(self._handle)  # freed with the next request: never a request from a finalizer
        except Exception:  # noqa: BLE001 - at interpreter shutdown the module may be half gone
            pass

    @property
    def num_inputs(self) -> int:
        return len(self._in)

    @property
    def num_outputs(self) -> int:
        return len(self._out)

    def get_input_details(self, index: int) -> dict:
        if index is None or index < 0:
            raise ValueError("Index must be a non-negative integer")
        if index >= len(self._in):
            raise IndexError("Tensor is out of bound, please check tensor index.")
        return self._in[index]

    def get_output_details(self, index: int) -> dict:
        if index is None or index < 0:
            raise ValueError("Index must be a non-negative integer")
        if index >= len(self._out):
            raise IndexError("Tensor is out of bound, please check tensor index.")
        return self._out[index]

    def set_input(self, value: Any, index: int) -> None:
        d = self.get_input_details(index)
        arr = np.asarray(value)
        if arr.dtype != np.dtype(d["dtype"]):
            raise ValueError(f"Cannot set tensor: Got value of type {arr.dtype.name.upper()} but expected type "
                             f"{np.dtype(d['dtype']).name.upper()} for input {index}")
        if arr.ndim != len(d["shape"]) or list(arr.shape) != [int(s) for s in d["shape"]]:
            raise ValueError(f"Cannot set tensor: Dimension mismatch. Got {list(arr.shape)} but expected "
                             f"{[int(s) for s in d['shape']]} for input {index}")
        self._staged[index] = np.ascontiguousarray(arr).copy()
        self._outputs = None

    def invoke(self) -> None:
        staged, self._staged = self._staged, {}
        if self._stateful is None:
            self._stateful = _has_variables(self._tinyc_model_bytes)
        if self._stateful:
            # TFLite Micro keeps variable tensors (an LSTM's hidden and cell state) from one Invoke() to the next
            # until Reset(); tinyc runs each inference from the initial state, as a Keras LSTM runs each sequence,
            # so the reference does too: every inference as on a freshly allocated interpreter.
            _call("reset", self._live_handle(), name=self.name, doing="resetting the interpreter")
        self._outputs = _call("invoke", self._live_handle(), staged, name=self.name, doing="running an inference")

    def get_output(self, index: int) -> np.ndarray:
        if index is None or index < 0:
            raise ValueError("Index must be a non-negative integer")
        if index >= len(self._out):
            raise IndexError("Tensor is out of bound, please check tensor index.")
        if self._outputs is None:
            return _call("get_output", self._live_handle(), index, name=self.name, doing="reading an output")
        return self._outputs[index].copy()

    def reset(self) -> None:
        self._staged, self._outputs = {}, None
        _call("reset", self._live_handle(), name=self.name, doing="resetting the interpreter")


def _has_variables(data: bytes) -> bool:
    """Whether the model holds variable tensors (a file tinyc cannot parse has none that matter here)."""
    from tinyc.model.graph import parse

    try:
        return any(t.is_variable for t in parse(data).tensors)
    except Exception:  # noqa: BLE001 - the interpreter reports a damaged file itself
        return False


def interpreter(model: bytes | str | Path, arena_size: int | None = None, name: str | None = None) -> Interpreter:
    """A TFLM interpreter over the model (a path or its bytes; ``name`` for messages, else the path)."""
    data, shown = _model_bytes(model)
    return Interpreter(data, arena_size, name or shown)


_LINE = re.compile(r"\[RecordingMicroAllocator\] Arena allocation (total|head|tail) (\d+) bytes")
_SECTION = re.compile(r"\[RecordingMicroAllocator\] '([^']+)' used (\d+) bytes")


def arena_record(model: bytes | str | Path, name: str | None = None) -> ArenaRecord:
    """TFLM's recorded arena (head, tail, total) after allocating and invoking once."""
    data, shown = _model_bytes(model)
    text = _call("arena", data, name=name or shown, doing="recording its arena")
    figures = {k: int(v) for k, v in _LINE.findall(text)}
    if set(figures) != {"total", "head", "tail"}:
        raise TinycError(f"could not read TFLM's arena figures from print_allocations(): {text[:200]!r}")
    sections = {k: int(v) for k, v in _SECTION.findall(text)}
    return ArenaRecord(figures["total"], figures["head"], figures["tail"], sections, text)


def run(model: bytes | str | Path, inputs: list[np.ndarray], name: str | None = None) -> list[np.ndarray]:
    """Golden outputs: run the TFLM reference interpreter once on ``inputs`` (already in the model's
    input dtype, e.g. int8, with the model's shapes)."""
    it = interpreter(model, name=name)
    if len(inputs) != it.num_inputs:
        raise TinycError(f"the model has {it.num_inputs} inputs, got {len(inputs)}")
    for i, x in enumerate(inputs):
        d = it.get_input_details(i)
        it.set_input(np.asarray(x, dtype=d["dtype"]).reshape(d["shape"]), i)
    it.invoke()
    return [it.get_output(i) for i in range(it.num_outputs)]


# -- the worker's side ---------------------------------------------------------------------------------


def _flush_c_stdio() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)  # the C++ code's buffered printf output, into the capture
    except (OSError, AttributeError):
        pass


def _capture(fn) -> tuple[Any, BaseException | None, str]:
    """Run ``fn`` with the C++ code's stdout and stderr in a temporary file: (its result, the exception it
    raised or None, that text)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    result, error = None, None
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - the binding raises RuntimeError, ValueError, struct.error, ...
            error = exc
        finally:
            _flush_c_stdio()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        tmp.seek(0)
        return result, error, tmp.read().decode("utf-8", "replace")


def _last_words(exc: BaseException, log: str) -> str:
    lines = [x.strip() for x in log.splitlines() if x.strip()]
    said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{said} ({lines[-1]})" if lines and lines[-1] not in said else said


def _details(it: Any, get) -> list[dict]:
    out = []
    while True:
        try:
            out.append(get(len(out)))
        except (IndexError, ValueError, RuntimeError):
            return out


class _Server:
    def __init__(self) -> None:
        from tflite_micro.python.tflite_micro import runtime

        self.runtime = runtime
        self.interps: dict[int, Any] = {}
        self.next = 1
        self.invokes = 0
        crash_at = os.environ.get("TINYC_TEST_REFERENCE_CRASH")  # test hook: segfault at the N-th inference
        self.crash_at = int(crash_at) if crash_at and crash_at.isdigit() else 0

    def load(self, data: bytes, arena_size: int | None):
        it, error, log = _capture(lambda: self.runtime.Interpreter.from_bytes(data, arena_size=arena_size))
        if error is not None:
            return ("err", "reject", _last_words(error, log))
        ins, error, log = _capture(lambda: (_details(it, it.get_input_details), _details(it, it.get_output_details)))
        if error is not None:
            return ("err", "reject", _last_words(error, log))
        handle, self.next = self.next, self.next + 1
        self.interps[handle] = (it, len(ins[1]))
        return ("ok", (handle, *ins))

    def invoke(self, handle: int, staged: dict):
        it, n = self.interps[handle]
        for i, x in sorted(staged.items()):
            it.set_input(x, i)
        self.invokes += 1
        if self.crash_at and self.invokes >= self.crash_at:
            import ctypes

            ctypes.string_at(0)  # a real segfault, as a malformed model gives
        try:
            it.invoke()
        except Exception as exc:  # noqa: BLE001
            return ("err", "invoke", _last_words(exc, ""))
        return ("ok", [np.array(it.get_output(i)) for i in range(n)])

    def get_output(self, handle: int, index: int):
        return ("ok", np.array(self.interps[handle][0].get_output(index)))

    def reset(self, handle: int):
        self.interps[handle][0].reset()
        return ("ok", None)

    def arena(self, data: bytes):
        def record() -> None:
            it = self.runtime.Interpreter.from_bytes(data)
            for i, d in enumerate(_details(it, it.get_input_details)):
                it.set_input(np.zeros(d["shape"], dtype=d["dtype"]), i)
            it.invoke()
            print("\n--- tinyc: allocations ---", flush=True)
            it.print_allocations()

        _, error, text = _capture(record)
        if error is not None:
            return ("err", "reject", _last_words(error, text))
        return ("ok", text.split("--- tinyc: allocations ---", 1)[-1])

    def handle(self, op: str, args: tuple, frees: list[int]):
        for h in frees:
            self.interps.pop(h, None)
        try:
            return getattr(self, op)(*args)
        except (ValueError, IndexError, TypeError, RuntimeError) as exc:
            return ("err", type(exc).__name__, str(exc).strip() or type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - anything else is the model's problem, in one line
            return ("err", "RuntimeError", f"{type(exc).__name__}: {exc}")


def _read_exact(fd: int, n: int) -> bytes | None:
    out = bytearray()
    while len(out) < n:
        chunk = os.read(fd, n - len(out))
        if not chunk:
            return None
        out += chunk
    return bytes(out)


def _serve(rfd: int, wfd: int) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # tinyc stops it; a Ctrl-C is tinyc's to handle
    server = _Server()
    while True:
        head = _read_exact(rfd, _HEADER.size)
        if head is None:
            return 0  # tinyc closed the pipe (or died): leave
        body = _read_exact(rfd, _HEADER.unpack(head)[0])
        if body is None:
            return 0
        op, args, frees = pickle.loads(body)
        data = pickle.dumps(server.handle(op, args, frees), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            view = view[os.write(wfd, view):]


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    sys.exit(_serve(int(sys.argv[2]), int(sys.argv[3])))
