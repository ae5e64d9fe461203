"""The serial link to the firmware harness (firmware/apps/harness/main.c), read with pyserial.

The same code reads QEMU's TCP serial port (``socket://127.0.0.1:PORT``) and a real board's
``/dev/ttyACM0``; nothing in it depends on QEMU. Protocol version 2.

Framing, chosen so that a noisy line, a late start or a reboot cannot confuse it:

* every frame is one ASCII line ``<body> *<crc>``: ``crc`` is the CRC-32 (zlib) of ``body``
  (which ends with a space), as 8 lowercase hex digits;
* host -> target bodies start with ``@``: ``@CMD seq args``; the target drops every byte before an
  ``@`` (an ``@`` always starts a new frame) and answers a line whose CRC is wrong with ``#ERR 0 crc``;
* target -> host bodies start with ``#``: ``#TYPE seq fields``; ``seq`` echoes the command's;
  anything else on the line (boot chatter, noise) is kept only for error messages;
* ``#FAULT ...`` is the one unframed line: the HardFault handler prints it and the host stops;
* payloads are hex, at most ``chunk`` bytes per frame, one command in flight at a time.

Recovery (stop-and-wait with resends by sequence number). The host sends a command and collects its reply
lines by key (``RUN k``, ``TENSOR in i``, ``LAYER i``, ``DATA``, ``OK``...), so a line that arrives twice is
kept once (two *different* lines under one key are a protocol error). It sends the *same* frame again (same
sequence number) when:

* the target says the command arrived damaged (``#ERR 0 crc``);
* the reply's last line (``OK``, ``DATA`` or ``ERR``) arrived but a line before it did not (HELLO's tensor
  lines are counted against its ``inputs=``/``outputs=``, RUN's against n, PROFILE's against ``layers=``);
* a one-line reply arrived damaged (a line that is not a valid frame, while the reply is pending);
* nothing arrived for the retransmission timeout: a TCP-style estimate per command (smoothed round trip
  plus four deviations, at least 0.05 s, plus the bytes' time on the wire at the baud rate) of the reply's
  first line, or for RUN of the gap between its per-inference lines; doubled after each silent resend.

The target keeps the sequence number and frame CRC of the last command it executed. The same frame again
is a resend: RUN and PROFILE replay their stored results (never a second inference); HELLO, IN and OUT run
again, which leaves the same state and gives the same reply (IN writes the same bytes to the same place,
OUT and HELLO only read). A new command can only follow a complete reply, so a resend always concerns the
last command executed. Every wait ends at ``reply_timeout`` (``--timeout``) after the command was first
sent, or after its last progress line; ``#HELLO 0`` (the boot announcement) after the first HELLO means
the target restarted and lost its state: an error, never a silent re-run.

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
from collections import deque
from dataclasses import MISSING, asdict, dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

import numpy as np

from tinyc.errors import TinycError

PROTO_VERSION = 2
DTYPES = {0: np.int8, 1: np.uint8, 2: np.int16, 3: np.int32, 4: np.float32}
_MAX_LINE = 8192  # longer than any frame: a line this long without a newline is noise
RTO_MIN = 0.05  # seconds: the shortest wait for a reply before the command is sent again
RTO_FIRST = 0.25  # before a round trip of that kind was measured
MAX_SENDS = 40  # one command sent this often without a complete reply: the line is too noisy
MIN_CHUNK = 16  # the smallest IN/OUT payload the host falls back to on a noisy line


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


class _Split(Exception):
    """An IN/OUT frame that keeps arriving damaged: the caller sends its payload in halves instead."""


def frame(body: str) -> bytes:
    """``body`` (no trailing space) as a complete frame line."""
    body = body + " "
    return f"{body}*{zlib.crc32(body.encode()):08x}\n".encode()


def parse_frame(line: str) -> tuple[str, int, list[str]] | None:
    """The (type, seq, fields) of the first valid '#' frame in ``line``, or None."""
    f = _parse(line)
    return None if f is None else f[1:]


def _parse(line: str) -> tuple[int, str, int, list[str]] | None:
    """(where the frame starts, type, seq, fields) of the valid '#' frame in ``line``, or None."""
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
                return start, parts[0], int(parts[1]), parts[2:]
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
    init_ticks: int = 0  # ticks tinyc_model_init() took at boot (filters decoded into RAM: --weights packed-ram)

    @property
    def refills_itself(self) -> bool:
        return self.staging >= sum(t.bytes for t in self.inputs)

    def to_json(self) -> dict:
        d = dict(vars(self))
        d["inputs"] = [t.to_json() for t in self.inputs]
        d["outputs"] = [t.to_json() for t in self.outputs]
        return d


# TargetInfo's scalar fields are the HELLO line's key=value pairs, each under its field's name but these;
# a key older firmware leaves out takes the field's default (name: "").
_HELLO_KEYS = {"model_hash": "model", "model_name": "name", "clock_hz": "clock"}
_HELLO_DEFAULTS = {"model_name": ""}
_HELLO_PARSE = {"int": int, "str": str, "bool": lambda v: v == "1"}


def _hello_fields(kv: dict[str, str]) -> dict[str, Any]:
    """TargetInfo's scalar fields from the HELLO line (a missing required key is a KeyError naming it)."""
    out: dict[str, Any] = {}
    for f in dataclass_fields(TargetInfo):
        parse = _HELLO_PARSE.get(str(f.type))
        if parse is None:  # the tensors: TENSOR lines
            continue
        key = _HELLO_KEYS.get(f.name, f.name)
        if key in kv:
            out[f.name] = parse(kv[key])
        elif f.name in _HELLO_DEFAULTS:
            out[f.name] = _HELLO_DEFAULTS[f.name]
        elif f.default is MISSING:
            raise KeyError(key)
    return out


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


@dataclass
class LinkStats:
    """What the link did to get its replies through."""

    commands: int = 0  # commands completed
    sends: int = 0  # frames sent, resends included
    resends: int = 0  # commands sent again (same sequence number)
    damaged_commands: int = 0  # "#ERR 0 crc": a command arrived damaged
    silent: int = 0  # resends after the retransmission timeout
    incomplete: int = 0  # replies whose last line came but a line before it did not
    damaged_lines: int = 0  # lines that were not valid frames (noise, damaged replies)
    duplicates: int = 0  # reply lines seen again (replays after a resend, duplicated lines)
    stale: int = 0  # replies to earlier commands (after their command was complete)

    def to_json(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return (f"{self.commands:,} commands, {self.resends:,} sent again ({self.damaged_commands:,} arrived "
                f"damaged, {self.incomplete + self.silent:,} replies damaged or lost), {self.damaged_lines:,} "
                f"damaged lines and {self.duplicates:,} repeated lines skipped")


class _Rtt:
    """Jacobson/Karels round-trip estimate (seconds); samples only from commands sent once (Karn), and a
    command that needed silent resends leaves its backed-off wait as the floor until the next sample."""

    def __init__(self) -> None:
        self.srtt: float | None = None
        self.var = 0.0
        self.floor = 0.0

    def add(self, sample: float) -> None:
        if self.srtt is None:
            self.srtt, self.var = sample, sample / 2
        else:
            self.var = 0.75 * self.var + 0.25 * abs(self.srtt - sample)
            self.srtt = 0.875 * self.srtt + 0.125 * sample
        self.floor = 0.0

    def rto(self) -> float:
        return max(self.floor, RTO_FIRST if self.srtt is None else max(RTO_MIN, self.srtt + 4 * self.var))


_ERRORS = {  # the firmware's error words, as a user reads them
    "bad-args": "its arguments are malformed",
    "out-of-range": "the bytes asked for lie outside the tensor",
    "bad-hex": "its data is not hex",
    "unknown-command": "the firmware does not know this command (rebuild it with this tinyc)",
    "unknown-test": "the firmware does not know this test command",
    "no-staging-one-run-per-input": "this firmware keeps no input copy, so it runs one inference per input sent",
    "invoke-failed": "the model's inference returned an error",
    "bad-frame": "the firmware could not read the command (rebuild it with this tinyc)",
    "staging-too-small": "the firmware was built with too small an input copy (rebuild it with this tinyc)",
}


def _what(name: str, args: list[str]) -> str:
    """A command as the user knows it."""
    try:
        if name == "HELLO":
            return "the greeting (HELLO)"
        if name == "IN":
            n = len(args[2]) // 2
            return f"input {args[0]} bytes {args[1]}..{int(args[1]) + n - 1} (IN)"
        if name == "OUT":
            return f"output {args[0]} bytes {args[1]}..{int(args[1]) + int(args[2]) - 1} (OUT)"
        if name == "RUN":
            return f"{args[0]} inference{'s' if args[0] != '1' else ''} (RUN)"
        if name == "PROFILE":
            return f"the per-layer profile of {args[0]} inference{'s' if args[0] != '1' else ''} (PROFILE)"
    except (IndexError, ValueError):
        pass
    return " ".join([name, *args])


class _Reply:
    """The reply to one command as it arrives: its lines by key, each kept once."""

    def __init__(self, name: str, args: list[str], layers: int):
        self.name, self.args, self.layers = name, args, layers
        self.lines: dict[tuple, tuple[str, list[str]]] = {}
        self.terminal: str | None = None

    @staticmethod
    def key(typ: str, fields: list[str]) -> tuple:
        if typ in ("RUN", "LAYER"):
            return (typ, fields[0] if fields else "")
        if typ == "TENSOR":
            return (typ, *fields[:2])
        return (typ,)

    def is_terminal(self, typ: str) -> bool:
        return typ in ("OK", "ERR") or (typ == "DATA" and self.name == "OUT")

    def add(self, typ: str, fields: list[str], what: str, where: str) -> bool:
        """Keep the line; False when it was already there (the same line again)."""
        k = self.key(typ, fields)
        old = self.lines.get(k)
        if old is not None:
            if old[1] != fields:
                raise ProtocolError(f"{where}: the firmware answered {what} twice, differently ({typ} "
                                    f"{' '.join(old[1])!r}, then {' '.join(fields)!r}); is another program "
                                    f"using the port?")
            return False
        self.lines[k] = (typ, fields)
        if self.is_terminal(typ):
            self.terminal = typ
        return True

    def missing(self) -> str | None:
        """What the reply still lacks once its last line is in, or None when it is complete."""
        if self.terminal is None:
            return "its last line"
        if self.name == "HELLO":
            head = self.lines.get(("HELLO",))
            if head is None:
                return "its first line"
            kv = _kv(head[1])
            try:
                n_in, n_out = int(kv["inputs"]), int(kv["outputs"])
            except (KeyError, ValueError):
                return None  # an older or broken HELLO: _parse_hello says what is wrong with it
            want = [("TENSOR", "in", str(i)) for i in range(n_in)] + [("TENSOR", "out", str(i)) for i in range(n_out)]
            lost = [k for k in want if k not in self.lines]
            return f"{len(lost)} tensor line(s)" if lost else None
        if self.name == "RUN" and self.terminal == "OK":
            n = int(_kv(self.lines[("OK",)][1]).get("runs", self.args[0] if self.args else 0))
            lost = [k for k in range(n) if ("RUN", str(k)) not in self.lines]
            return f"the line(s) of run {', '.join(map(str, lost[:5]))}" if lost else None
        if self.name == "RUN" and self.terminal == "ERR":
            failed = [int(f[0]) for t, f in self.lines.values() if t == "RUN" and len(f) > 2 and f[2] != "0"]
            if not failed:
                return "the line of the failed run"
            lost = [k for k in range(failed[0]) if ("RUN", str(k)) not in self.lines]
            return f"the line(s) of run {', '.join(map(str, lost[:5]))}" if lost else None
        if self.name == "PROFILE" and self.terminal == "OK":
            n = int(_kv(self.lines[("OK",)][1]).get("layers", self.layers))
            lost = [k for k in range(n) if ("LAYER", str(k)) not in self.lines]
            return f"{len(lost)} layer line(s)" if lost else None
        return None

    def progress_lines(self) -> int:
        return sum(1 for k in self.lines if k[0] == "RUN")

    def in_order(self) -> list[tuple[str, list[str]]]:
        """The lines sorted as the firmware sends them: head, numbered lines by number, then the last line."""
        def order(item):
            k, (typ, fields) = item
            if typ in ("RUN", "LAYER"):
                return (1, int(fields[0]) if fields and fields[0].isdigit() else 0)
            if typ == "TENSOR":
                return (1, (0 if fields[0] == "in" else 1, int(fields[1]) if fields[1].isdigit() else 0))
            return (2, 0) if self.is_terminal(typ) else (0, 0)

        return [v for _, v in sorted(self.lines.items(), key=order)]


class Link:
    """One conversation with the harness over a pyserial port (or anything with read/write)."""

    def __init__(self, port: Any, name: str = "", reply_timeout: float = 10.0, baud: int = 115200):
        self.port = port
        self.name = name or getattr(port, "name", None) or getattr(port, "port", None) or "serial port"
        self.reply_timeout = reply_timeout  # every wait for the target (--timeout)
        self.baud = baud
        self.info: TargetInfo | None = None
        self.stats = LinkStats()
        self._buf = bytearray()
        self._seq = random.randint(1, 1 << 30)
        self.console: deque[str] = deque(maxlen=50)  # recent lines that were not frames (chatter, noise)
        self._heard = self._since = 0  # console lines so far, and when the command in flight was sent
        self._glued = 0  # frames that came after the rest of a lost line (its newline was lost)
        self._inputs: dict[int, bytes] = {}  # what was last sent, to refill firmware without a copy
        self._rtt: dict[str, _Rtt] = {}
        self._chunk = 0  # IN/OUT payload in use: the firmware's, smaller while the line is noisy
        self._fail = 0.0  # running share of IN/OUT sends that failed

    @classmethod
    def open(cls, url: str, baud: int = 115200, **kw: Any) -> "Link":
        import serial

        try:
            port = serial.serial_for_url(url, baudrate=baud, timeout=0.05)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"cannot open serial port {url}: {exc}; check the port name and that no other "
                            f"program holds it") from None
        return cls(port, url, baud=baud, **kw)

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
        """The console text that came while the command in flight waited (for its error message)."""
        n = min(3, self._heard - self._since)
        text = " | ".join(list(self.console)[-n:]) if n > 0 else ""
        return f"; last console text: {text[-300:]!r}" if text else ""

    def _event(self, until: float) -> tuple | None:
        """The next line: ("frame", type, seq, fields) or ("line", text) for one that is not a valid frame;
        None once ``until`` passes; a fault report raises."""
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                raw = bytes(self._buf[:nl])
                del self._buf[:nl + 1]
                text = raw.decode("ascii", errors="replace").rstrip("\r")
                at = text.find("#FAULT")
                if at >= 0:
                    raise TargetFault(f"{self.name}: the firmware faulted: {text[at:].strip()} (see the map file "
                                      f"to find the pc; a stack overflow or an unaligned access are common causes)")
                f = _parse(text)
                if f is not None:
                    if f[0] and "*" in text[:f[0]]:  # a frame glued to the end of another: that one was lost
                        self.stats.damaged_lines += 1
                        self._glued += 1
                    return ("frame", *f[1:])
                if text.strip():
                    self.console.append(text)
                    self._heard += 1
                    return ("line", text)
                continue
            if len(self._buf) > _MAX_LINE:
                self.console.append(self._buf[-200:].decode("ascii", errors="replace"))
                self._heard += 1
                del self._buf[:]
            if time.monotonic() >= until:
                return None
            self._buf += self._read_some()

    def _wire(self, nbytes: int) -> float:
        """Seconds ``nbytes`` take on the wire at the baud rate (10 bits a byte)."""
        return nbytes * 10.0 / max(self.baud, 1)

    def _exchange(self, body: str, *, timeout: float | None = None, progress: str | None = None,
                  sync: bool = False, interval: float = 0.25, split_after: int | None = None) -> _Reply:
        """Send one command and collect its complete reply, sending it again (same sequence number) until it
        is complete (see the module's docstring). ``progress`` names the per-inference line type that restarts
        the timeout; ``sync`` is the first HELLO: sent every ``interval`` seconds while the target boots;
        ``split_after``: damaged sends after which an IN/OUT gives up (``_Split``) to be sent in halves."""
        timeout = self.reply_timeout if timeout is None else timeout
        name, *args = body.split()
        what = _what(name, args)
        self._since = self._heard
        seq = self._next_seq()
        data = (b"\n" if sync else b"") + frame(" ".join([f"@{name}", str(seq), *args]))
        reply = _Reply(name, args, self.info.layers if self.info else 0)
        rtt = self._rtt.setdefault(name, _Rtt())
        gap = self._rtt.setdefault(f"{name}:gap", _Rtt()) if progress else None
        expect = 40 + (2 * int(args[2]) if name == "OUT" and len(args) > 2 and args[2].isdigit() else 0) \
            + (400 if name == "HELLO" else 0)
        wire = self._wire(len(data) + expect)
        single = not sync and name not in ("HELLO", "RUN", "PROFILE")  # one line answers it
        sends = 0
        noise = 0  # damaged lines and damaged commands while waiting: "too noisy" rather than "hung"
        damaged = 0  # sends because something arrived damaged (silent resends are bounded by the timeout)
        incomplete = 0  # complete-looking replies that lacked a line
        silent = 0  # resends after silence
        heard = [False]  # something of this reply (or damage) came since the last send: the target is alive
        glued = self._glued

        def send(because_damaged: bool = False) -> float:
            nonlocal sends, damaged
            if because_damaged:
                damaged += 1
                if split_after and damaged >= split_after:
                    raise _Split
                if damaged >= MAX_SENDS * (3 if sync else 1):  # HELLO's long lines get more tries
                    raise LinkError(
                        f"{self.name}: {what} was sent {sends} times without a complete reply ({noise} damaged "
                        f"lines or commands): the line is too noisy; check the baud rate and the cable"
                        f"{self._recent()}")
            if sends:
                self.stats.resends += 1
            self._write(data)
            heard[0] = False
            sends += 1
            self.stats.sends += 1
            return time.monotonic()

        sent = first_sent = send()
        last = sent  # last progress: the timeout counts from here
        deadline = sent + timeout
        base = interval if sync else (gap.rto() if gap is not None else rtt.rto()) + wire
        wait = base
        quiet_until = sent + wait
        while True:
            ev = self._event(min(deadline, quiet_until))
            now = time.monotonic()
            if ev is None:
                if now >= deadline:
                    if damaged >= 3 or noise >= 3:
                        raise LinkTimeout(
                            f"{self.name}: no complete reply to {what} within {timeout:g} s (sent {sends} times, "
                            f"{noise} damaged lines or commands): the line is too noisy; check the baud rate and "
                            f"the cable{self._recent()}")
                    after = f" after {reply.progress_lines()} of its runs" if progress and reply.lines else ""
                    raise LinkTimeout(
                        f"{self.name}: no reply to {what}{after} within {timeout:g} s: the firmware hung or "
                        f"stopped (an endless loop, a deadlock, or a run longer than the timeout; raise it with "
                        f"--timeout if the model is just slow){self._recent()}")
                alive = heard[0]
                sent = send()  # silence: ask again
                silent += 1
                self.stats.silent += 1
                if not sync and not alive:  # nothing at all came back: perhaps busy; back off
                    wait = min(wait * 2, max(timeout, base))
                quiet_until = sent + wait
                continue
            heard[0] = heard[0] or ev[0] == "line" or ev[2] in (0, seq)
            if ev[0] == "line":
                self.stats.damaged_lines += 1
                noise += 1
                if single and reply.terminal is None:  # its one line came damaged: ask again now
                    sent = send(True)
                    quiet_until = sent + wait
                elif not sync:  # the target is sending: the rest of the reply follows at once, if at all
                    quiet_until = min(quiet_until, now + rtt.rto() + wire)
                continue
            typ, s, fields = ev[1], ev[2], ev[3]
            if s == 0 and typ == "ERR":
                if fields[:1] == ["crc"]:  # the command (or noise before it) arrived damaged
                    self.stats.damaged_commands += 1
                    noise += 1
                    sent = send(True)
                    quiet_until = sent + wait
                    continue
                why = fields[0] if fields else "?"
                raise ProtocolError(f"{self.name}: the firmware refused {what}: {_ERRORS.get(why, why)} ({why})")
            if s == 0 and typ == "HELLO":
                if self.info is not None and not sync:
                    raise LinkError(f"{self.name}: the target restarted during {what} (a reset, a brown-out or a "
                                    f"watchdog) and lost its state; run again")
                continue  # the boot announcement
            if s != seq:
                self.stats.stale += 1
                continue
            if not reply.add(typ, fields, what, self.name):
                self.stats.duplicates += 1
                if typ != reply.terminal:
                    continue
            elif typ == progress:
                if sends == 1 and gap is not None:
                    gap.add(now - last)
                last = now
                deadline = now + timeout  # each inference restarts the timeout
            if reply.terminal is None:
                if progress and gap is not None:  # the next inference, or the summary right after the last
                    n = int(args[0]) if args and args[0].isdigit() else 1
                    base = (gap.rto() if reply.progress_lines() < n else rtt.rto()) + wire
                    wait = base
                quiet_until = now + wait
                continue
            lack = reply.missing()
            if lack is None:
                if sends == 1 and not progress:
                    rtt.add(now - first_sent)
                elif sends == 1 and progress:
                    rtt.add(max(now - last, 0.0))
                elif silent and not sync:  # no sample (Karn): the next command starts from this wait
                    (gap if gap is not None and reply.progress_lines() <= 1 else rtt).floor = min(wait, timeout)
                self.stats.commands += 1
                return reply
            if typ == reply.terminal:  # the last line is in, a line before it is not: ask again
                incomplete += 1
                if incomplete >= 3 and noise == 0 and self._glued == glued:  # the same gap, nothing damaged
                    raise ProtocolError(
                        f"{self.name}: the firmware's reply to {what} lacks {lack} every time it is sent (its "
                        f"{'head line announces more tensors than it describes' if name == 'HELLO' else 'lines do not add up'}"
                        f"); rebuild the firmware with this tinyc")
                self.stats.incomplete += 1
                sent = send(True)
                quiet_until = sent + wait

    def _command(self, body: str, **kw: Any) -> list[tuple[str, list[str]]]:
        """Send one command; its reply's lines, numbered ones in order, the last line last. ``#ERR`` raises."""
        reply = self._exchange(body, **kw)
        if reply.terminal == "ERR":
            name, *args = body.split()
            fields = reply.lines[("ERR",)][1]
            why = fields[0] if fields else "?"
            raise ProtocolError(f"{self.name}: the firmware refused {_what(name, args)}: "
                                f"{_ERRORS.get(why, why)} ({why})")
        return reply.in_order()

    @staticmethod
    def _split_after(n: int) -> int | None:
        """Damaged sends after which an IN/OUT of ``n`` payload bytes is sent in halves instead."""
        return 8 if n > MIN_CHUNK else None

    def _chunked(self, sends_before: int, n: int) -> None:
        """After an IN/OUT exchange of ``n`` payload bytes: halve the payload while most sends fail (a frame
        half as long fails less often; below 16 bytes the frame's own overhead dominates), double it back
        while most get through. ``_fail`` is the running share of sends that failed."""
        sends = self.stats.sends - sends_before
        for failed in [1.0] * (sends - 1) + [0.0]:
            self._fail += 0.1 * (failed - self._fail)
        full = self.info.chunk if self.info else 256
        if self._fail > 0.6 and n > MIN_CHUNK:
            self._chunk, self._fail = max(MIN_CHUNK, n // 2), 0.45
        elif self._fail < 0.25 and self._chunk < full:
            self._chunk, self._fail = min(full, self._chunk * 2), 0.45

    # -- protocol ----------------------------------------------------------------------------

    def sync(self, timeout: float | None = None, interval: float = 0.25) -> TargetInfo:
        """Send HELLO until the harness answers; skip whatever came before. Returns what it says, checked."""
        timeout = self.reply_timeout if timeout is None else timeout
        try:
            reply = self._exchange("HELLO", timeout=timeout, sync=True, interval=interval)
        except LinkTimeout as exc:
            if "too noisy" in str(exc):
                raise
            raise LinkTimeout(
                f"{self.name}: no answer from the tinyc firmware within {timeout:g} s: check that the board runs "
                f"firmware built by tinyc, that this is its port, and the baud rate (raise --timeout for a slow "
                f"start){self._recent()}") from None
        if reply.terminal == "ERR":
            why = reply.lines[("ERR",)][1][:1] or ["?"]
            raise ProtocolError(f"{self.name}: the firmware refused the greeting: {_ERRORS.get(why[0], why[0])}")
        self.info = self._parse_hello(reply.in_order())
        self._chunk = self.info.chunk
        return self.info

    def _parse_hello(self, frames: list[tuple[str, list[str]]]) -> TargetInfo:
        head = next(f for t, f in frames if t == "HELLO")
        kv = _kv(head)
        where = f"{self.name}: the firmware's HELLO"
        try:
            if int(kv["proto"]) != PROTO_VERSION:
                raise ProtocolError(f"{self.name}: the firmware speaks protocol {kv['proto']}, this tinyc "
                                    f"speaks {PROTO_VERSION}: rebuild the firmware with this tinyc (and flash it)")
            tensors = []
            for typ, fields in frames:
                if typ != "TENSOR":
                    continue
                t = _kv(fields[2:])
                shape = () if t["shape"] == "-" else tuple(int(x) for x in t["shape"].split("x"))
                scale = np.frombuffer(int(t["scale"], 16).to_bytes(4, "little"), np.float32)[0]
                tensors.append(TensorInfo(fields[0], int(fields[1]), t["name"], int(t["dtype"]),
                                          int(t["bytes"]), shape, float(scale), int(t["zp"])))
            info = TargetInfo(
                **_hello_fields(kv),
                inputs=tuple(sorted((t for t in tensors if t.direction == "in"), key=lambda t: t.index)),
                outputs=tuple(sorted((t for t in tensors if t.direction == "out"), key=lambda t: t.index)))
            n_in, n_out = int(kv["inputs"]), int(kv["outputs"])
        except (KeyError, ValueError, OverflowError) as exc:
            raise ProtocolError(f"{where} is malformed (no usable {exc}): {' '.join(head)!r}; rebuild the "
                                f"firmware with this tinyc") from None
        problems = []
        for direction, want, got in (("in", n_in, info.inputs), ("out", n_out, info.outputs)):
            label = "input" if direction == "in" else "output"
            if [t.index for t in got] != list(range(want)):
                problems.append(f"it says {want} {label}(s) but describes {label} tensor(s) "
                                f"{[t.index for t in got]}")
            for t in got:
                if t.dtype not in DTYPES:
                    problems.append(f"{label} {t.index} ({t.name}) has dtype {t.dtype}, which tinyc does not know")
                    continue
                size = int(np.prod(t.shape, dtype=np.int64)) * np.dtype(DTYPES[t.dtype]).itemsize
                if any(d < 0 for d in t.shape) or size != t.bytes:
                    problems.append(f"{label} {t.index} ({t.name}) has shape {'x'.join(map(str, t.shape)) or '-'} "
                                    f"but {t.bytes} bytes")
        if not 1 <= info.chunk <= 4096:
            problems.append(f"chunk={info.chunk}")
        if info.runs_max < 1 or info.tick_hz < 1 or info.arena < 0 or info.staging < 0 or info.layers < 0:
            problems.append(f"runs_max={info.runs_max} tick_hz={info.tick_hz} arena={info.arena} "
                            f"staging={info.staging} layers={info.layers}")
        if problems:
            raise ProtocolError(f"{where} does not add up: {'; '.join(problems)}; rebuild the firmware with this tinyc")
        return info

    def _need_info(self) -> TargetInfo:
        if self.info is None:
            self.sync()
        assert self.info is not None
        return self.info

    def set_input(self, index: int, data: bytes | np.ndarray) -> None:
        info = self._need_info()
        if not 0 <= index < len(info.inputs):
            raise LinkError(f"the model has {len(info.inputs)} input(s); there is no input {index}")
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
        off = 0
        while off < len(raw):
            before = self.stats.sends
            n = min(self._chunk or info.chunk, len(raw) - off)
            try:
                self._command(f"IN {index} {off} {raw[off:off + n].hex()}", split_after=self._split_after(n))
            except _Split:  # the frame is too long for this line: the same bytes in halves (IN is idempotent)
                self._chunk, self._fail = max(MIN_CHUNK, n // 2), 0.45
                continue
            self._chunked(before, n)
            off += n
        self._inputs[index] = raw

    def get_output(self, index: int) -> bytes:
        info = self._need_info()
        if not 0 <= index < len(info.outputs):
            raise LinkError(f"the model has {len(info.outputs)} output(s); there is no output {index}")
        t = info.outputs[index]
        out = bytearray()
        off = 0
        while off < t.bytes:
            n = min(self._chunk or info.chunk, t.bytes - off)
            before = self.stats.sends
            try:
                (_, fields), = self._command(f"OUT {index} {off} {n}", split_after=self._split_after(n))
            except _Split:
                self._chunk, self._fail = max(MIN_CHUNK, n // 2), 0.45
                continue
            self._chunked(before, n)
            chunk = bytes.fromhex(fields[2]) if n and len(fields) > 2 else b""
            if fields[:2] != [str(index), str(off)] or len(chunk) != n:
                raise ProtocolError(f"{self.name}: asked for bytes {off}..{off + n - 1} of output {index} "
                                    f"({t.name}), the firmware sent {len(chunk)} bytes of output "
                                    f"{fields[0] if fields else '?'} at {fields[1] if len(fields) > 1 else '?'}")
            out += chunk
            off += n
        return bytes(out)

    def read_outputs(self, checksum: int | None = None) -> list[bytes]:
        """Every output's bytes; with ``checksum`` (the one RUN reported), checked against it and read again
        once if it differs, so bytes the line damaged can never pass for the target's output."""
        info = self._need_info()
        outs = [self.get_output(i) for i in range(len(info.outputs))]
        if checksum is None or output_checksum(outs) == checksum:
            return outs
        outs = [self.get_output(i) for i in range(len(info.outputs))]
        if output_checksum(outs) != checksum:
            raise ProtocolError(f"{self.name}: the outputs read back (checksum {output_checksum(outs):08x}) are not "
                                f"what the firmware computed after the run ({checksum:08x}), twice: the firmware "
                                f"changed them or the line damaged them; check the cable")
        return outs

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
        reply = self._exchange(f"RUN {runs}", timeout=timeout, progress="RUN")
        lines = reply.in_order()
        ticks, crcs = [], []
        for typ, fields in lines:
            if typ == "RUN":
                try:
                    k, t, rc, crc = int(fields[0]), int(fields[1]), int(fields[2]), int(fields[3], 16)
                except (IndexError, ValueError):
                    raise ProtocolError(f"{self.name}: the firmware's report of a run is malformed: "
                                        f"{' '.join(fields)!r}") from None
                if rc != 0:
                    raise LinkError(f"{self.name}: the model's inference failed on the target on run {k + 1} of "
                                    f"{runs} (the generated code returned {rc})")
                ticks.append(t)
                crcs.append(crc)
        if reply.terminal == "ERR":
            why = reply.lines[("ERR",)][1][:1] or ["?"]
            raise ProtocolError(f"{self.name}: the firmware refused {runs} inference(s): "
                                f"{_ERRORS.get(why[0], why[0])} ({why[0]})")
        summary = _kv(reply.lines[("OK",)][1])
        try:
            result = Runs(tuple(ticks), tuple(crcs), int(summary["min"]), int(summary["median"]), int(summary["max"]))
        except (KeyError, ValueError):
            raise ProtocolError(f"{self.name}: the firmware's summary of {runs} run(s) is malformed: "
                                f"{' '.join(reply.lines[('OK',)][1])!r}") from None
        s = sorted(ticks)
        if len(ticks) != runs or (result.min, result.median, result.max) != (s[0], s[(runs - 1) // 2], s[-1]):
            raise ProtocolError(
                f"{self.name}: the firmware reported {len(ticks)} run(s) of {min(s, default=0)}..{max(s, default=0)} "
                f"ticks but summed up {runs} run(s) as min {result.min}, median {result.median}, max {result.max}: "
                f"its report does not add up; rebuild the firmware with this tinyc")
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
                try:
                    layers.append((int(fields[0]), int(fields[1]), int(fields[2]), fields[3] if len(fields) > 3 else ""))
                except (IndexError, ValueError):
                    raise ProtocolError(f"{self.name}: the firmware's report of a layer is malformed: "
                                        f"{' '.join(fields)!r}") from None
        if [x[0] for x in layers] != list(range(info.layers)):
            raise ProtocolError(f"{self.name}: the per-layer profile names layers {[x[0] for x in layers]}, but "
                                f"the firmware said it has {info.layers}")
        return layers

    def infer(self, inputs: list[np.ndarray], timeout: float = 30.0) -> tuple[list[np.ndarray], Runs]:
        """Set every input, run once, read every output back (checked against the run's checksum)."""
        info = self._need_info()
        if len(inputs) != len(info.inputs):
            raise LinkError(f"the model takes {len(info.inputs)} input(s), got {len(inputs)}")
        for i, (arr, t) in enumerate(zip(inputs, info.inputs)):
            self.set_input(i, np.asarray(arr))
        runs = self.run(1, timeout=timeout)
        outs = self.read_outputs(runs.checksums[-1])
        return [np.frombuffer(o, t.np_dtype).reshape(t.shape) for o, t in zip(outs, info.outputs)], runs

    def exit(self, code: int = 0) -> None:
        """Ask the firmware to leave (under QEMU: exit with ``code``)."""
        self._command(f"EXIT {code}")

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (tests inject noise this way)."""
        self._write(data)

    def command(self, body: str, timeout: float | None = None, **_: Any) -> list[tuple[str, list[str]]]:
        """Send any command (tests use the firmware's test-only TEST command); its reply's lines."""
        return self._command(body, timeout=timeout)


def output_checksum(outputs: list[bytes]) -> int:
    """The CRC-32 the firmware reports per run: over all outputs' bytes, in order."""
    crc = 0
    for o in outputs:
        crc = zlib.crc32(o, crc)
    return crc
