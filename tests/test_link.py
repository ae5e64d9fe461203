"""The serial protocol's framing, host side, without a target: what the reader accepts and skips."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from tinyc.deploy.link import Link, LinkClosed, LinkTimeout, TargetFault, frame, output_checksum, parse_frame


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
    with pytest.raises(LinkTimeout, match=r"no reply to RUN within 0.2 s.*boot chatter"):
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
