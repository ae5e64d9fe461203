"""The harness and the serial link end to end, on QEMU (or a real board with --hil-port).

The model here is a TEST FIXTURE (tests/fixtures/fake_model, a fixed int8 transform), not a real
model: these tests check the protocol, the harness and the timing, not a network. The robustness
tests use firmware built with TINYC_HARNESS_TEST_HOOKS (boot noise, a late start, and TEST
commands that hang, fault or drop the line).
"""

from __future__ import annotations

import random
import time
from contextlib import contextmanager

import numpy as np
import pytest

from tests import fixture_model as fm
from tests.conftest import require_tool
from tinyc.boards import get_board
from tinyc.deploy.emulator import QemuSession
from tinyc.deploy.link import Link, LinkClosed, LinkTimeout, TargetFault, frame, output_checksum
from tinyc.deploy.platformio import build
from tinyc.deploy.project import render_harness_project

BOARD = "mps2-an500"


def _firmware(tmp_path_factory, test_hooks: bool):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    board = get_board(BOARD)
    out = tmp_path_factory.mktemp("hooks" if test_hooks else "plain")
    project = render_harness_project(out / "fw", board, fm.SOURCES, fm.INCLUDE_DIRS, fm.INPUT_BYTES,
                                     emulate=True, test_hooks=test_hooks)
    return board, build(project).elf


@pytest.fixture(scope="module")
def plain_fw(tmp_path_factory):
    return _firmware(tmp_path_factory, False)


@pytest.fixture(scope="module")
def hooks_fw(tmp_path_factory):
    return _firmware(tmp_path_factory, True)


@pytest.fixture
def hil(request):
    port = request.config.getoption("--hil-port")
    return port


def _inputs(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, (1, 8, 8, 1), dtype=np.int8) for _ in range(n)]


@contextmanager
def _target(fw, hil_port=None, *, sync_timeout=None):
    """(QEMU session, link) to the target: QEMU running ``fw`` (session None on --hil-port: the board,
    flashed with it), synced first when ``sync_timeout`` is given; the link is closed and QEMU
    stopped however the test ends."""
    q = None
    try:
        if hil_port:
            link = Link.open(hil_port)
        else:
            q = QemuSession(*fw)
            q.start()
            link = q.link()
        try:
            if sync_timeout is not None:
                link.sync(timeout=sync_timeout)
            yield q, link
        finally:
            link.close()
    finally:
        if q:
            q.stop()


@pytest.fixture
def hooked(hooks_fw, hil):
    """The fault-injection firmware (TINYC_HARNESS_TEST_HOOKS), synced: its boot noise and late start
    need the longer sync timeout."""
    with _target(hooks_fw, hil, sync_timeout=20) as target:
        yield target


@pytest.mark.toolchain
@pytest.mark.emulator
def test_outputs_are_exact_and_every_run_has_the_same_checksum(plain_fw, hil):
    with _target(plain_fw, hil) as (q, link):
        info = link.sync()
        assert info.model_hash == fm.MODEL_HASH
        assert (info.inputs[0].shape, info.outputs[0].shape) == ((1, 8, 8, 1), (1, 10))
        assert (info.inputs[0].scale, info.inputs[0].zero_point) == (0.5, -3)  # float bits sent exactly
        for x in _inputs(4):
            outs, runs = link.infer([x])
            assert outs[0].tolist() == fm.transform(x).tolist()
            assert runs.checksums == (output_checksum([outs[0].tobytes()]),)
        # The fixture overwrites its input (as a real arena may): only a refill before each run
        # keeps the checksums equal.
        x = _inputs(1, seed=9)[0]
        link.set_input(0, x)
        runs = link.run(7)
        assert set(runs.checksums) == {output_checksum([fm.transform(x).tobytes()])}
        assert len(runs.ticks) == 7 and runs.min <= runs.median <= runs.max
        if info.emulated:
            assert runs.min == runs.max > 0  # -icount: every run takes exactly the same time
        if q:
            link.exit(0x42)
            assert q.wait_exit() == 0x42


@pytest.mark.toolchain
@pytest.mark.emulator
def test_emulated_cost_is_identical_across_two_invocations(plain_fw):
    ticks = []
    for _ in range(2):
        with QemuSession(*plain_fw) as q, q.link() as link:
            link.sync()
            link.set_input(0, _inputs(1, seed=3)[0])
            ticks.append(link.run(3).ticks)
    assert ticks[0] == ticks[1]


@pytest.mark.toolchain
@pytest.mark.emulator
def test_survives_boot_noise_late_start_and_noise_between_replies(hooked):
    # This firmware prints binary noise and fake frames at boot, then waits 1/4 s (virtual)
    # before listening, while the host is already sending HELLO (the fixture's sync).
    _, link = hooked
    assert link.console, "the boot noise should have been seen and skipped"
    link.command("TEST noise")
    x = _inputs(1, seed=5)[0]
    outs, _ = link.infer([x])
    assert outs[0].tolist() == fm.transform(x).tolist()


@pytest.mark.toolchain
@pytest.mark.emulator
def test_survives_garbage_from_the_host_and_resends_a_damaged_command(plain_fw, hil):
    with _target(plain_fw, hil) as (_, link):
        rng = random.Random(1)
        link.send_raw(bytes(rng.randrange(256) for _ in range(2000)) + b"@@@\n@RUN 5\n" + b"@IN 1 0 ff *0\n")
        link.sync()
        # Damage the next command on the wire: the firmware answers "#ERR 0 crc" and the host resends.
        real_write = link.port.write
        damaged = []

        def write(data: bytes) -> None:
            if not damaged and data.startswith(b"@IN"):
                damaged.append(data)
                data = data.replace(b"@IN", b"@IM", 1)
            real_write(data)

        link.port.write = write
        x = _inputs(1, seed=6)[0]
        outs, _ = link.infer([x])
        assert damaged and outs[0].tolist() == fm.transform(x).tolist()


@pytest.mark.toolchain
@pytest.mark.emulator
def test_output_printed_before_the_port_opens_is_harmless(plain_fw):
    # wait=False: the guest boots and announces itself before anyone listens, as a board does.
    q = QemuSession(*plain_fw, wait=False)
    q.start()
    try:
        time.sleep(0.5)
        with q.link() as link:
            link.sync()
            x = _inputs(1, seed=7)[0]
            assert link.infer([x])[0][0].tolist() == fm.transform(x).tolist()
    finally:
        q.stop()


def _inferences(link: Link) -> int:
    """Inferences the hooks firmware has run since it booted (TEST count)."""
    (_, fields), = link.command("TEST count")
    return int(fields[0].split("=")[1])


@pytest.mark.toolchain
@pytest.mark.emulator
def test_lost_damaged_and_doubled_replies_are_recovered_without_running_again(hooked):
    # TEST lose/damage/twice N: the firmware drops, damages or doubles its next N reply lines. The host
    # asks again with the same sequence number; RUN is replayed from what the firmware stored.
    _, link = hooked
    before = _inferences(link)
    x = _inputs(1, seed=12)[0]
    want = output_checksum([fm.transform(x).tobytes()])
    link.set_input(0, x)
    link.command("TEST lose 2")  # the RUN line and the OK of the next RUN: nothing comes back
    assert link.run(1).checksums == (want,)
    link.command("TEST damage 1")  # the next DATA line
    assert link.output_array(0).tolist() == fm.transform(x).tolist()
    link.command("TEST twice 4")  # every line of the next RUN 3 twice
    assert link.run(3).checksums == (want,) * 3
    assert _inferences(link) - before == 4  # 1 + 3: no resend ran the model again
    s = link.stats
    assert s.silent >= 1 and s.damaged_lines >= 1 and s.duplicates >= 3, s


@pytest.mark.toolchain
@pytest.mark.emulator
def test_wrong_outputs_are_never_accepted_through_a_noisy_line(hooks_fw):
    # A firmware that gets every fifth inference wrong (TEST wrong 5 2), read through the fault proxy at
    # 0.5% of bytes flipped, dropped or doubled both ways: exactly those inferences come back wrong.
    from tinyc.deploy.faultproxy import FaultProxy

    with QemuSession(*hooks_fw) as q:
        with q.link() as link:
            link.sync(timeout=20)
            link.command("TEST wrong 5 2")
        with FaultProxy(("127.0.0.1", q.port), rate=0.005, seed=3) as px, Link.open(px.url, reply_timeout=20) as link:
            wrong = []
            for i in range(40):
                x = _inputs(1, seed=100 + i)[0]
                if link.infer([x])[0][0].tolist() != fm.transform(x).tolist():
                    wrong.append(i)
            assert wrong == [i for i in range(40) if i % 5 == 2]
            assert px.stats.to_target.faults and px.stats.to_host.faults and link.stats.resends, px.stats
        with q.link() as link:
            link.sync()
            assert _inferences(link) == 40


@pytest.mark.toolchain
@pytest.mark.emulator
def test_a_hang_times_out_with_a_clear_message(hooked):
    _, link = hooked
    t0 = time.monotonic()
    with pytest.raises(LinkTimeout, match=r"no reply to TEST hang within 1.5 s: the firmware hung"):
        link.command("TEST hang", timeout=1.5)
    assert time.monotonic() - t0 < 5


@pytest.mark.toolchain
@pytest.mark.emulator
def test_a_hardfault_is_reported_by_the_handler_and_raised(hooked):
    q, link = hooked
    with pytest.raises(TargetFault, match=r"#FAULT hardfault pc=0x[0-9a-f]{8} lr=0x[0-9a-f]{8} cfsr=0x00010000"):
        link.command("TEST fault")  # udf: UsageFault UNDEFINSTR (CFSR bit 16) escalated
    if q:
        assert q.wait_exit() == 0x7F


@pytest.mark.toolchain
@pytest.mark.emulator
def test_a_disconnect_is_reported_and_a_reconnect_works(plain_fw, hooks_fw):
    # The host drops the line and comes back: the firmware keeps serving.
    with QemuSession(*plain_fw) as q:
        with q.link() as link:
            link.sync()
            link.set_input(0, _inputs(1, seed=8)[0])
            first = link.run(2)
        with q.link() as link:
            link.sync()
            assert link.run(2).checksums == first.checksums
    # The target drops the line (firmware gone): the host says so instead of hanging.
    with _target(hooks_fw, sync_timeout=20) as (q, link):
        with pytest.raises(LinkClosed, match="closed"):
            link.command("TEST exit", timeout=10)
        assert q.wait_exit() == 0x55
        with pytest.raises(LinkClosed):
            link.command("HELLO")


@pytest.mark.toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board_id", ["mps2-an386", "mps3-an547", "netduinoplus2", "lm3s6965evb", "microbit"])
def test_each_emulated_port_serves_the_link_exactly(tmp_path, board_id):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    board = get_board(board_id)
    project = render_harness_project(tmp_path / "fw", board, fm.SOURCES, fm.INCLUDE_DIRS, fm.INPUT_BYTES,
                                     emulate=True)
    with QemuSession(board, build(project).elf) as q, q.link() as link:
        info = link.sync()
        assert (info.board, info.tick_hz, info.emulated) == (board_id, board.emulation.tick_hz, True)
        x = _inputs(1, seed=11)[0]
        link.set_input(0, x)
        runs = link.run(3)
        assert link.output_array(0).tolist() == fm.transform(x).tolist()
        assert len(set(runs.checksums)) == 1 and runs.min == runs.max > 0
        link.exit(0x43)
        assert q.wait_exit() == 0x43
