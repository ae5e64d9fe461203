"""The serial link to the firmware harness (firmware/apps/harness/main.c), read with pyserial.

The same code reads QEMU's TCP serial port (``socket://127.0.0.1:PORT``) and a real board's
``/dev/ttyACM0``. Framing, chosen so that a noisy line, a late start or a reboot cannot confuse it:

* every frame is one ASCII line ``<body> *<crc>``: ``crc`` is the CRC-32 (zlib) of ``body``
  (which ends with a space), as 8 lowercase hex digits;
* host -> target bodies start with ``@``: ``@CMD seq args``; the target drops every byte before an
  ``@`` and every line whose CRC is wrong (answering ``#ERR 0 crc``, and the host resends);
* target -> host bodies start with ``#``: ``#TYPE seq fields``; ``seq`` echoes the command's, so
  stale replies (to an earlier HELLO, from before a reconnect) are skipped; anything else on the
  line (boot chatter, noise) is kept only for error messages;
* ``#FAULT ...`` is the one unframed line: the HardFault handler prints it and the host stops;
* payloads are hex, at most ``chunk`` bytes per frame, one command in flight at a time.

Commands: HELLO (who are you: model hash, board, clock, tick rate, arena, tensors), IN (bytes into
the staged input), RUN n (n timed inferences, each on a fresh copy of the staged input: one
``#RUN seq k ticks rc crc32-of-outputs`` per run), OUT (read an output chunk), EXIT (leave QEMU),
and, in firmware whose model was generated with per-layer profiling (HELLO says ``layers=N``),
PROFILE n k0 period (n inferences at dithered timer phases; one ``#LAYER seq i op ticks kernel`` per
layer with its ticks summed over the runs).
"""

from __future__ import annotations

import random
import time
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyc.errors import TinycError

PROTO_VERSION = 1
DTYPES = {0: np.int8, 1: np.uint8, 2: np.int16, 3: np.int32, 4: np.float32}
_MAX_LINE = 8192  # longer than any frame: a line this long without a newline is noise


class LinkError(TinycError):
    """The link to the target failed; the message says what was seen and what to check."""


class LinkTimeout(LinkError):
    pass


class TargetFault(LinkError):
    pass


class LinkClosed(LinkError):
    pass


class ProtocolError(LinkError):
    pass


def frame(body: str) -> bytes:
    """``body`` (no trailing space) as a complete frame line."""
    body = body + " "
    return f"{body}*{zlib.crc32(body.encode()):08x}\n".encode()


def parse_frame(line: str) -> tuple[str, int, list[str]] | None:
    """The (type, seq, fields) of the first valid '#' frame in ``line``, or None."""
    star = line.rfind(" *")
    if star < 0 or len(line) < star + 10:
        return None
    crc_text = line[star + 2:star + 10]
    try:
        want = int(crc_text, 16)
    except ValueError:
        return None
    start = line.find("#")
    while 0 <= start < star:
        body = line[start:star + 1]
        if zlib.crc32(body.encode(errors="replace")) == want:
            parts = body[1:].split()
            if len(parts) >= 2 and parts[1].isdigit():
                return parts[0], int(parts[1]), parts[2:]
            return None
        start = line.find("#", start + 1)
    return None


def _kv(fields: list[str]) -> dict[str, str]:
    return dict(f.split("=", 1) for f in fields if "=" in f)


@dataclass(frozen=True)
class TensorInfo:
    direction: str  # "in" or "out"
    index: int
    name: str
    dtype: int
    bytes: int
    shape: tuple[int, ...]
    scale: float
    zero_point: int

    @property
    def np_dtype(self) -> Any:
        if self.dtype not in DTYPES:
            raise ProtocolError(f"the firmware reports tensor dtype {self.dtype}, which tinyc does not know")
        return np.dtype(DTYPES[self.dtype])

    def to_json(self) -> dict:
        return dict(vars(self), shape=list(self.shape))


@dataclass(frozen=True)
class TargetInfo:
    proto: int
    model_hash: str
    model_name: str
    board: str
    clock_hz: int
    tick_hz: int
    emulated: bool
    arena: int
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    chunk: int
    runs_max: int
    staging: int = 0  # bytes of input copy in the firmware; 0: the host refills the input before every run
    layers: int = 0  # layers the firmware profiles (PROFILE); 0: built without per-layer profiling

    @property
    def refills_itself(self) -> bool:
        return self.staging >= sum(t.bytes for t in self.inputs)

    def to_json(self) -> dict:
        d = dict(vars(self))
        d["inputs"] = [t.to_json() for t in self.inputs]
        d["outputs"] = [t.to_json() for t in self.outputs]
        return d


@dataclass(frozen=True)
class Runs:
    """What the firmware reported for RUN n: per-run ticks and output checksums, and its summary."""

    ticks: tuple[int, ...]
    checksums: tuple[int, ...]
    min: int
    median: int
    max: int

    def to_json(self) -> dict:
        return {"ticks": list(self.ticks), "checksums": [f"{c:08x}" for c in self.checksums],
                "min": self.min, "median": self.median, "max": self.max}


class Link:
    """One conversation with the harness over a pyserial port (or anything with read/write)."""

    def __init__(self, port: Any, name: str = "", reply_timeout: float = 5.0):
        self.port = port
        self.name = name or getattr(port, "name", None) or getattr(port, "port", None) or "serial port"
        self.reply_timeout = reply_timeout
        self.info: TargetInfo | None = None
        self._buf = bytearray()
        self._seq = random.randint(1, 1 << 30)
        self.console: list[str] = []  # lines that were not frames (boot chatter, noise)
        self._inputs: dict[int, bytes] = {}  # what was last sent, to refill firmware without a copy

    @classmethod
    def open(cls, url: str, baud: int = 115200, **kw: Any) -> "Link":
        import serial

        try:
            port = serial.serial_for_url(url, baudrate=baud, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"cannot open serial port {url}: {exc}; check the port name and that no other "
                            f"program holds it") from None
        return cls(port, url, **kw)

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # noqa: BLE001 - closing a dead port must not hide the real error
            pass

    def __enter__(self) -> "Link":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = self._seq % (1 << 31) + 1
        return self._seq

    def _write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            if hasattr(self.port, "flush"):
                self.port.flush()
        except Exception as exc:  # noqa: BLE001 - pyserial raises SerialException, sockets OSError
            raise LinkClosed(f"{self.name}: the connection to the target is gone ({exc}); "
                             f"is the board still connected / is the emulator still running?") from None

    def _read_some(self) -> bytes:
        try:
            waiting = getattr(self.port, "in_waiting", 0) or 1
            data = self.port.read(min(waiting, 4096))
        except Exception as exc:  # noqa: BLE001
            raise LinkClosed(f"{self.name}: the connection to the target closed ({exc}){self._recent()}") from None
        if data is None:
            raise LinkClosed(f"{self.name}: the connection to the target closed{self._recent()}")
        return data

    def _recent(self) -> str:
        text = " | ".join(self.console[-3:])
        return f"; last console text: {text[-300:]!r}" if text else ""

    def _lines(self, deadline: float):
        """Yield complete lines until the deadline passes (then return)."""
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                raw = bytes(self._buf[:nl])
                del self._buf[:nl + 1]
                yield raw.decode("ascii", errors="replace").rstrip("\r")
                continue
            if len(self._buf) > _MAX_LINE:
                self.console.append(self._buf[-200:].decode("ascii", errors="replace"))
                del self._buf[:]
            if time.monotonic() >= deadline:
                return
            self._buf += self._read_some()

    def _frames(self, deadline: float):
        """Yield (type, seq, fields) of valid frames; raise on a fault report."""
        for text in self._lines(deadline):
            at = text.find("#FAULT")
            if at >= 0:
                raise TargetFault(f"{self.name}: the firmware faulted: {text[at:].strip()} (see the map file "
                                  f"to find the pc; a stack overflow or an unaligned access are common causes)")
            f = parse_frame(text)
            if f is None:
                if text.strip():
                    self.console.append(text)
                continue
            yield f

    def _command(self, body: str, *, until: str = "OK", timeout: float | None = None,
                 progress: str | None = None, retries: int = 3) -> list[tuple[str, list[str]]]:
        """Send one command; return the frames of its reply up to and including the ``until`` one.

        ``progress`` names a frame type that restarts the timeout (one RUN line per inference).
        A reply ``#ERR 0 crc`` means the command arrived damaged: it is sent again.
        """
        timeout = self.reply_timeout if timeout is None else timeout
        cmd = body.split()[0]
        for _attempt in range(retries + 1):
            seq = self._next_seq()
            parts = body.split(" ", 1)
            self._write(frame(f"@{parts[0]} {seq}" + (f" {parts[1]}" if len(parts) > 1 else "")))
            got: list[tuple[str, list[str]]] = []
            deadline = time.monotonic() + timeout
            resend = False
            for typ, s, fields in self._frames(deadline):
                if typ == "ERR" and s == 0 and fields[:1] == ["crc"]:
                    resend = True
                    break
                if s != seq:
                    continue
                if typ == "ERR":
                    raise ProtocolError(f"{self.name}: the firmware rejected {cmd}: {' '.join(fields)}")
                got.append((typ, fields))
                if typ == until:
                    return got
                if typ == progress:
                    deadline = time.monotonic() + timeout
            if not resend:
                what = f"after {len(got)} {progress} line(s) " if progress else ""
                raise LinkTimeout(
                    f"{self.name}: no reply to {cmd} {what}within {timeout:g} s: the firmware hung or "
                    f"stopped (an endless loop, a deadlock, or a run longer than the timeout; "
                    f"raise it with --timeout if the model is just slow){self._recent()}")
        raise LinkError(f"{self.name}: {cmd} arrived damaged {retries + 1} times: the line is too noisy "
                        f"(check the baud rate and the cable)")

    # -- protocol ----------------------------------------------------------------------------

    def sync(self, timeout: float = 10.0, interval: float = 0.25) -> TargetInfo:
        """Send HELLO until the harness answers; skip whatever came before. Returns what it says."""
        deadline = time.monotonic() + timeout
        seq = self._next_seq()
        hello = b"\n" + frame(f"@HELLO {seq}")
        got: list[tuple[str, list[str]]] = []
        while time.monotonic() < deadline:
            self._write(hello)
            resend_at = min(deadline, time.monotonic() + interval)
            for typ, s, fields in self._frames(resend_at if not got else deadline):
                if s != seq:
                    continue
                if typ == "HELLO":
                    got = [(typ, fields)]
                elif got:
                    got.append((typ, fields))
                    if typ == "OK":
                        self.info = self._parse_hello(got)
                        return self.info
        raise LinkTimeout(
            f"{self.name}: no answer from the tinyc firmware within {timeout:g} s: check that the board runs "
            f"firmware built by tinyc, that this is its port, and the baud rate{self._recent()}")

    def _parse_hello(self, frames: list[tuple[str, list[str]]]) -> TargetInfo:
        head = frames[0][1]
        kv = _kv(head)
        try:
            if int(kv["proto"]) != PROTO_VERSION:
                raise ProtocolError(f"{self.name}: the firmware speaks protocol {kv['proto']}, this tinyc "
                                    f"speaks {PROTO_VERSION}: rebuild the firmware with this tinyc")
            tensors = []
            for typ, fields in frames[1:]:
                if typ != "TENSOR":
                    continue
                t = _kv(fields[2:])
                shape = () if t["shape"] == "-" else tuple(int(x) for x in t["shape"].split("x"))
                scale = np.frombuffer(int(t["scale"], 16).to_bytes(4, "little"), np.float32)[0]
                tensors.append(TensorInfo(fields[0], int(fields[1]), t["name"], int(t["dtype"]),
                                          int(t["bytes"]), shape, float(scale), int(t["zp"])))
            return TargetInfo(
                proto=int(kv["proto"]), model_hash=kv["model"], model_name=kv.get("name", ""),
                board=kv["board"], clock_hz=int(kv["clock"]), tick_hz=int(kv["tick_hz"]),
                emulated=kv["emulated"] == "1", arena=int(kv["arena"]),
                inputs=tuple(t for t in tensors if t.direction == "in"),
                outputs=tuple(t for t in tensors if t.direction == "out"),
                chunk=int(kv["chunk"]), runs_max=int(kv["runs_max"]), staging=int(kv.get("staging", 0)),
                layers=int(kv.get("layers", 0)))
        except (KeyError, ValueError) as exc:
            raise ProtocolError(f"{self.name}: the firmware's HELLO is malformed ({exc}): "
                                f"{' '.join(head)!r}") from None

    def _need_info(self) -> TargetInfo:
        if self.info is None:
            self.sync()
        assert self.info is not None
        return self.info

    def set_input(self, index: int, data: bytes | np.ndarray) -> None:
        info = self._need_info()
        t = info.inputs[index]
        if isinstance(data, np.ndarray):
            arr = data
            if arr.dtype != t.np_dtype:
                if not np.issubdtype(arr.dtype, np.integer) or not np.issubdtype(t.np_dtype, np.integer):
                    raise LinkError(f"input {index} ({t.name}) is {t.np_dtype}, got {arr.dtype}: quantize it first")
                info_t = np.iinfo(t.np_dtype)
                if arr.size and (arr.min() < info_t.min or arr.max() > info_t.max):
                    raise LinkError(f"input {index} ({t.name}) is {t.np_dtype}; values out of its range")
                arr = arr.astype(t.np_dtype)
            raw = np.ascontiguousarray(arr).tobytes()
        else:
            raw = bytes(data)
        if len(raw) != t.bytes:
            raise LinkError(f"input {index} ({t.name}) takes {t.bytes} bytes, got {len(raw)}")
        for off in range(0, len(raw), info.chunk):
            self._command(f"IN {index} {off} {raw[off:off + info.chunk].hex()}")
        self._inputs[index] = raw

    def get_output(self, index: int) -> bytes:
        info = self._need_info()
        t = info.outputs[index]
        out = bytearray()
        for off in range(0, t.bytes, info.chunk):
            n = min(info.chunk, t.bytes - off)
            (_, fields), = self._command(f"OUT {index} {off} {n}", until="DATA")
            if int(fields[0]) != index or int(fields[1]) != off:
                raise ProtocolError(f"{self.name}: asked for output {index} at {off}, got {fields[:2]}")
            chunk = bytes.fromhex(fields[2]) if n else b""
            if len(chunk) != n:
                raise ProtocolError(f"{self.name}: asked for {n} bytes of output {index}, got {len(chunk)}")
            out += chunk
        return bytes(out)

    def output_array(self, index: int) -> np.ndarray:
        t = self._need_info().outputs[index]
        return np.frombuffer(self.get_output(index), t.np_dtype).reshape(t.shape)

    def run(self, runs: int = 1, timeout: float = 30.0) -> Runs:
        """``runs`` timed inferences; ``timeout`` is per inference."""
        info = self._need_info()
        if not 1 <= runs <= info.runs_max:
            raise LinkError(f"--runs must be between 1 and {info.runs_max}, got {runs}")
        if not info.refills_itself and runs > 1:
            # No room for an input copy on the target: send the input again before every run.
            if len(self._inputs) != len(info.inputs):
                raise LinkError("set every input before a run")
            each = []
            for k in range(runs):
                if k:
                    for i, raw in sorted(self._inputs.items()):
                        self.set_input(i, raw)
                each.append(self.run(1, timeout=timeout))
            ticks = tuple(r.ticks[0] for r in each)
            s = sorted(ticks)
            return Runs(ticks, tuple(r.checksums[0] for r in each), s[0], s[(runs - 1) // 2], s[-1])
        frames = self._command(f"RUN {runs}", timeout=timeout, progress="RUN")
        ticks, crcs = [], []
        for typ, fields in frames:
            if typ == "RUN":
                k, t, rc, crc = int(fields[0]), int(fields[1]), int(fields[2]), int(fields[3], 16)
                if k != len(ticks):
                    raise ProtocolError(f"{self.name}: run {k} reported out of order")
                if rc != 0:
                    raise LinkError(f"{self.name}: tinyc_model_invoke() returned {rc} on run {k}")
                ticks.append(t)
                crcs.append(crc)
        summary = _kv(frames[-1][1])
        result = Runs(tuple(ticks), tuple(crcs), int(summary["min"]), int(summary["median"]),
                      int(summary["max"]))
        s = sorted(ticks)
        if len(ticks) != runs or (result.min, result.median, result.max) != (s[0], s[(runs - 1) // 2], s[-1]):
            raise ProtocolError(f"{self.name}: the firmware's run summary does not match its runs: {result}")
        return result

    def profile(self, runs: int, start: int = 0, period: int = 1,
                timeout: float = 30.0) -> list[tuple[int, int, int, str]]:
        """Per-layer ticks summed over ``runs`` inferences; run k starts 3 * (1 + (start + k) % period)
        instructions after the timer restarts. Returns (layer, op index, ticks, kernel) per layer."""
        info = self._need_info()
        if not info.layers:
            raise LinkError(f"{self.name}: the firmware was built without per-layer profiling; rebuild it "
                            f"with profiling on (tinyc bench --per-layer builds one; tinyc flash --per-layer "
                            f"for a real board)")
        if runs > 1 and not info.refills_itself:
            raise LinkError("this firmware keeps no input copy: profile one run at a time")
        frames = self._command(f"PROFILE {runs} {start} {period}", timeout=timeout * runs)
        layers = []
        for typ, fields in frames:
            if typ == "LAYER":
                layers.append((int(fields[0]), int(fields[1]), int(fields[2]), fields[3] if len(fields) > 3 else ""))
        if [x[0] for x in layers] != list(range(info.layers)):
            raise ProtocolError(f"{self.name}: PROFILE reported layers {[x[0] for x in layers]}, expected "
                                f"0..{info.layers - 1}")
        return layers

    def infer(self, inputs: list[np.ndarray], timeout: float = 30.0) -> tuple[list[np.ndarray], Runs]:
        """Set every input, run once, read every output back."""
        info = self._need_info()
        if len(inputs) != len(info.inputs):
            raise LinkError(f"the model takes {len(info.inputs)} input(s), got {len(inputs)}")
        for i, (arr, t) in enumerate(zip(inputs, info.inputs)):
            self.set_input(i, np.asarray(arr))
        runs = self.run(1, timeout=timeout)
        return [self.output_array(i) for i in range(len(info.outputs))], runs

    def exit(self, code: int = 0) -> None:
        """Ask the firmware to leave (under QEMU: exit with ``code``)."""
        self._command(f"EXIT {code}")

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (tests inject noise this way)."""
        self._write(data)

    def command(self, body: str, **kw: Any) -> list[tuple[str, list[str]]]:
        """Send any command (tests use the firmware's test-only TEST command)."""
        return self._command(body, **kw)


def output_checksum(outputs: list[bytes]) -> int:
    """The CRC-32 the firmware reports per run: over all outputs' bytes, in order."""
    crc = 0
    for o in outputs:
        crc = zlib.crc32(o, crc)
    return crc
