"""The serial protocol's framing, host side, without a target: what the reader accepts and skips."""

from __future__ import annotations

import time
import zlib

import numpy as np
import pytest

from tinyc.deploy.link import (Link, LinkClosed, LinkError, LinkTimeout, TargetFault, frame, output_checksum,
                               parse_frame)


def test_frame_carries_crc_of_its_body():
    line = frame("@RUN 7 3")
    body, crc = line.decode().rstrip("\n").split("*")
    assert body == "@RUN 7 3 "
    assert int(crc, 16) == zlib.crc32(body.encode())


def test_parse_skips_noise_before_the_frame_and_rejects_bad_crc():
    good = frame("#OK 12 runs=3").decode().rstrip("\n")
    assert parse_frame(good) == ("OK", 12, ["runs=3"])
    assert parse_frame("\x00\xff#garbage ## " + good) == ("OK", 12, ["runs=3"])
    damaged = good.replace("runs=3", "runs=4")
    assert parse_frame(damaged) is None
    assert parse_frame("#OK 1 *00000000") is None
    assert parse_frame("no frame here") is None


def test_output_checksum_is_crc32_over_all_outputs_in_order():
    a, b = bytes(range(10)), bytes(range(5))
    assert output_checksum([a, b]) == zlib.crc32(a + b)
    assert output_checksum([a, b]) != output_checksum([b, a])


class _ScriptedPort:
    """A port that answers with canned bytes; records what the host wrote."""

    def __init__(self, replies: list[bytes], close_after: bool = False):
        self.replies, self.written, self.close_after = list(replies), bytearray(), close_after
        self.in_waiting = 0

    def write(self, data: bytes) -> None:
        self.written += data

    def read(self, n: int) -> bytes | None:
        if self.replies:
            return self.replies.pop(0)
        if self.close_after:
            return None
        return b""

    def close(self) -> None:
        pass


def _seq_of(port: _ScriptedPort) -> int:
    return int(port.written.decode().split()[1])


def test_fault_report_becomes_a_clear_error():
    port = _ScriptedPort([b"noise\n", b"\n#FAULT hardfault pc=0x00000123 lr=0xfffffff9\n"])
    with pytest.raises(TargetFault, match=r"faulted: #FAULT hardfault pc=0x00000123"):
        Link(port, "test").command("RUN 1")


def test_silence_becomes_a_timeout_naming_the_command():
    port = _ScriptedPort([b"boot chatter\n"])
    with pytest.raises(LinkTimeout, match=r"no reply to 1 inference \(RUN\) within 0.2 s: the firmware hung.*boot chatter"):
        Link(port, "test", reply_timeout=0.2).command("RUN 1")


def test_eof_becomes_link_closed():
    port = _ScriptedPort([], close_after=True)
    with pytest.raises(LinkClosed, match="closed"):
        Link(port, "test").command("HELLO")


def test_stale_replies_are_skipped():
    link = Link(_ScriptedPort([]), "test")
    seq = link._seq + 1
    link.port.replies = [frame(f"#OK {seq - 1}"), b"#OK junk\n", frame(f"#DATA {seq} 0 0 0a0b"), frame(f"#OK {seq}")]
    got = link.command("OUT 0 0 2", until="DATA")
    assert got == [("DATA", ["0", "0", "0a0b"])]
    assert _seq_of(link.port) == seq
    assert np.frombuffer(bytes.fromhex(got[0][1][2]), np.int8).tolist() == [10, 11]


# -- recovery: a Python twin of the harness's protocol 2 behind a fake port ------------------------------


class _FakeTarget:
    """The harness's protocol 2 in Python, behind a port: HELLO, IN, RUN, OUT and EXIT over the fixture's
    transform (tests/fixture_model.py), a resend (same sequence number and frame CRC as the last command)
    replays RUN instead of running again, and ``fault(n, line)`` may damage, drop or repeat its n-th reply
    line (bytes in, bytes out)."""

    def __init__(self, fault=None, hello: dict | None = None, extra_tensors=(), summary_min=None):
        from tests import fixture_model as fm

        self.fm = fm
        self.rx, self.tx = bytearray(), bytearray()
        self.fault = fault or (lambda n, line: line)
        self.hello = {"proto": "2", "model": "5c63e3740081a1e1", "board": "fake", "clock": "1", "tick_hz": "1000",
                      "emulated": "1", "arena": "96", "inputs": "1", "outputs": "1", "staging": "64", "chunk": "256",
                      "runs_max": "64", **(hello or {})}
        self.tensors = [("in", 0, "dtype=0 bytes=64 scale=0x3f000000 zp=-3 shape=1x8x8x1 name=x"),
                        ("out", 0, "dtype=0 bytes=10 scale=0x3f000000 zp=0 shape=1x10 name=y"), *extra_tensors]
        self.summary_min = summary_min
        self.staging, self.out = bytearray(64), bytes(10)
        self.inferences, self.lines, self.commands = 0, 0, []
        self.last, self.run_lines = None, None
        self.silent = set()  # commands that get no answer at all
        self.lie_once = False  # the next DATA carries wrong bytes in a valid frame

    @property
    def in_waiting(self) -> int:
        return len(self.tx)

    def read(self, n: int) -> bytes:
        if not self.tx:
            import time

            time.sleep(0.001)
        out = bytes(self.tx[:n])
        del self.tx[:n]
        return out

    def close(self) -> None:
        pass

    def _emit(self, body: str) -> None:
        self.tx += self.fault(self.lines, frame(body))
        self.lines += 1

    def write(self, data: bytes) -> None:
        self.rx += data
        while b"\n" in self.rx:
            raw, _, rest = bytes(self.rx).partition(b"\n")
            self.rx = bytearray(rest)
            at = raw.find(b"@")
            if at < 0:
                continue
            line = raw[at:].decode("ascii", "replace")
            star = line.rfind(" *")
            if star < 0 or zlib.crc32(line[:star + 1].encode()) != int(line[star + 2:star + 10] or "x", 16):
                self._emit("#ERR 0 crc")
                continue
            name, seq, *args = line[1:star].split()
            self.commands.append(line)
            if name in self.silent:
                continue
            ident = (seq, line[star + 2:])
            if ident == self.last and self.run_lines is not None and name == "RUN":
                for body in self.run_lines:  # a resend: the stored reply, never another inference
                    self._emit(body)
                continue
            self.last, self.run_lines = ident, None
            getattr(self, "_" + name.lower())(seq, *args)

    def _hello(self, seq):
        self._emit(f"#HELLO {seq} " + " ".join(f"{k}={v}" for k, v in self.hello.items()))
        for d, i, rest in self.tensors:
            self._emit(f"#TENSOR {seq} {d} {i} {rest}")
        self._emit(f"#OK {seq}")

    def _in(self, seq, idx, off, hexdata):
        data = bytes.fromhex(hexdata)
        self.staging[int(off):int(off) + len(data)] = data
        self._emit(f"#OK {seq}")

    def _run(self, seq, n):
        self.run_lines = []
        for k in range(int(n)):
            self.inferences += 1
            self.out = self.fm.transform(np.frombuffer(bytes(self.staging), np.int8)).tobytes()
            self.run_lines.append(f"#RUN {seq} {k} 100 0 {zlib.crc32(self.out):08x}")
        low = 100 if self.summary_min is None else self.summary_min
        self.run_lines.append(f"#OK {seq} runs={n} min={low} median=100 max=100")
        for body in self.run_lines:
            self._emit(body)

    def _out(self, seq, idx, off, n):
        data = self.out[int(off):int(off) + int(n)]
        if self.lie_once:
            self.lie_once, data = False, bytes(b ^ 1 for b in data)
        self._emit(f"#DATA {seq} {idx} {off} {data.hex()}")

    def _exit(self, seq, code):
        self._emit(f"#OK {seq}")


def _x(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (1, 8, 8, 1), dtype=np.int8)


def _infer_ok(link: Link, target: _FakeTarget, seed: int = 0) -> None:
    x = _x(seed)
    outs, runs = link.infer([x])
    assert outs[0].tobytes() == target.fm.transform(x).tobytes()


def _sent(target: _FakeTarget, name: str) -> list[str]:
    return [c for c in target.commands if c.startswith(f"@{name} ")]


def test_a_lost_reply_is_asked_for_again_with_the_same_sequence_number():
    # lines 0-3 answer HELLO; line 4 is the OK of the first IN: lost
    target = _FakeTarget(fault=lambda n, line: b"" if n == 4 else line)
    link = Link(target, "fake")
    _infer_ok(link, target)
    ins = _sent(target, "IN")
    assert len(ins) == 2 and ins[0] == ins[1]  # the same frame: same sequence number, same CRC
    assert link.stats.resends == 1 and link.stats.silent == 1


def test_a_lost_run_line_is_replayed_never_run_again():
    target = _FakeTarget(fault=lambda n, line: b"" if line.startswith(b"#RUN") and n < 7 else line)
    link = Link(target, "fake")
    _infer_ok(link, target)
    assert target.inferences == 1  # the RUN's reply came back complete only from its replay
    assert len(_sent(target, "RUN")) == 2 and link.stats.incomplete == 1


def test_a_damaged_reply_is_asked_for_again_at_once():
    target = _FakeTarget(fault=lambda n, line: line.replace(b"#DATA", b"#DATa") if n == 7 else line)
    link = Link(target, "fake", reply_timeout=30)
    t0 = time.monotonic()
    _infer_ok(link, target)
    assert time.monotonic() - t0 < 2  # not the timeout's 30 s: the damaged line is seen and asked for again
    assert len(_sent(target, "OUT")) == 2 and link.stats.damaged_lines == 1


def test_duplicated_lines_are_recognised_not_misread():
    target = _FakeTarget(fault=lambda n, line: line + line)  # every line twice
    link = Link(target, "fake")
    x = _x(3)
    link.set_input(0, x)
    runs = link.run(5)
    assert len(runs.ticks) == 5 and target.inferences == 5
    assert link.read_outputs(runs.checksums[-1])[0] == target.fm.transform(x).tobytes()
    assert link.stats.duplicates >= 5 and link.stats.resends == 0


def test_a_damaged_command_is_sent_again_unchanged():
    target = _FakeTarget()
    real_write, damaged = target.write, []

    def write(data: bytes) -> None:
        if data.startswith(b"@RUN") and not damaged:
            damaged.append(data)
            data = data.replace(b"RUN", b"RUM")
        real_write(data)

    target.write = write
    link = Link(target, "fake")
    _infer_ok(link, target)
    runs = _sent(target, "RUN")
    assert len(runs) == 1 and damaged[0].decode().startswith(runs[0])  # resent byte for byte
    assert link.stats.damaged_commands == 1 and target.inferences == 1


def test_outputs_that_do_not_match_the_runs_checksum_are_read_again():
    target = _FakeTarget()
    link = Link(target, "fake")
    link.sync()
    target.lie_once = True
    _infer_ok(link, target)
    assert len(_sent(target, "OUT")) == 2
    target.lie_once = True
    target._out, real = (lambda seq, i, off, n: (setattr(target, "lie_once", True), real(seq, i, off, n))), target._out
    with pytest.raises(LinkError, match=r"outputs read back .* are not what the firmware computed"):
        link.infer([_x(1)])


def test_the_hello_is_checked_against_its_counts():
    with pytest.raises(LinkError, match=r"lacks 1 tensor line\(s\) every time.*announces more tensors"):
        Link(_FakeTarget(hello={"inputs": "2"}), "fake").sync(timeout=5)
    with pytest.raises(LinkError, match=r"HELLO does not add up: input 0 \(x\) has shape 1x8x8x1 but 60 bytes"):
        t = _FakeTarget()
        t.tensors[0] = ("in", 0, "dtype=0 bytes=60 scale=0x3f000000 zp=-3 shape=1x8x8x1 name=x")
        Link(t, "fake").sync(timeout=5)
    with pytest.raises(LinkError, match=r"says 1 output\(s\) but describes output tensor\(s\) \[0, 1\]"):
        extra = ("out", 1, "dtype=0 bytes=4 scale=0x3f000000 zp=0 shape=4 name=z")
        Link(_FakeTarget(extra_tensors=[extra]), "fake").sync(timeout=5)
    with pytest.raises(LinkError, match=r"speaks protocol 1, this tinyc speaks 2: rebuild"):
        Link(_FakeTarget(hello={"proto": "1"}), "fake").sync(timeout=5)


def test_the_hellos_pairs_are_the_target_infos_fields_by_name():
    info = Link(_FakeTarget(hello={"name": "digits", "layers": "3", "emulated": "0"}), "fake").sync(timeout=5)
    assert (info.proto, info.model_hash, info.model_name, info.board, info.clock_hz, info.tick_hz) == (
        2, "5c63e3740081a1e1", "digits", "fake", 1, 1000)
    assert (info.emulated, info.arena, info.chunk, info.runs_max, info.staging, info.layers) == (
        False, 96, 256, 64, 64, 3)
    older = _FakeTarget()
    del older.hello["staging"]  # keys older firmware leaves out take their defaults
    info = Link(older, "fake").sync(timeout=5)
    assert (info.model_name, info.staging, info.layers, info.emulated) == ("", 0, 0, True)
    t = _FakeTarget()
    del t.hello["tick_hz"]
    with pytest.raises(LinkError, match=r"HELLO is malformed \(no usable 'tick_hz'\)"):
        Link(t, "fake").sync(timeout=5)


def test_every_wait_honours_the_timeout():
    from tinyc.deploy.bench import bench_link

    target = _FakeTarget()
    target.silent = {"IN"}
    link = Link(target, "fake")  # the library's default is 10 s; bench's --timeout replaces it
    t0 = time.monotonic()
    with pytest.raises(LinkTimeout, match=r"no reply to input 0 bytes 0\.\.63 \(IN\) within 0\.4 s.*--timeout"):
        bench_link(link, None, runs=1, timeout=0.4)
    assert 0.4 <= time.monotonic() - t0 < 2
    assert len(_sent(target, "IN")) >= 2  # asked again while it waited, all within the timeout


def test_a_target_that_restarted_is_an_error_not_a_silent_rerun():
    target = _FakeTarget()
    link = Link(target, "fake")
    link.sync()
    target._run = lambda seq, n: target._hello(0)  # it rebooted: its boot announcement, no reply
    with pytest.raises(LinkError, match=r"the target restarted during 1 inference \(RUN\).*lost its state"):
        link.run(1)


def test_an_inconsistent_run_summary_is_named_in_words():
    target = _FakeTarget(summary_min=7)
    link = Link(target, "fake")
    link.set_input(0, _x())
    with pytest.raises(LinkError, match=r"reported 2 run\(s\) of 100\.\.100 ticks but summed up 2 run\(s\) as "
                                        r"min 7") as e:
        link.run(2)
    assert "Runs(" not in str(e.value)


def test_a_line_that_damages_everything_is_called_too_noisy():
    target = _FakeTarget(fault=lambda n, line: line if n < 4 else line[:3] + b"X" + line[4:])
    link = Link(target, "fake", reply_timeout=30)
    link.sync()
    t0 = time.monotonic()
    with pytest.raises(LinkError, match=r"was sent \d+ times without a complete reply.*too noisy"):
        link.set_input(0, _x())
    assert time.monotonic() - t0 < 5
