"""The micro:bit (nRF51822, Cortex-M0) as an emulated target on QEMU's -M microbit machine.

The nRF51's M0 has no SysTick, so the port times with TIMER0 at 8 MHz (the board file's timer_clock):
under QEMU -icount shift=0 (one instruction = 1 ns of virtual time) one tick is 125 instructions. These
tests check that the port's console, exit and fault paths work, that a span of N instructions reads
exactly floor(N / 125) ticks however often the timer is read in between, and that real models run bit-exact against TFLite Micro with instruction
counts identical across QEMU invocations; a model too big for its 16 KiB of SRAM is refused.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import require_tool
from tests.test_deploy_models import digits_tflite  # noqa: F401 - the cached digits model (session fixture)
from tinyc import paths
from tinyc.boards import get_board
from tinyc.cli import cli
from tinyc.deploy import svdcheck
from tinyc.deploy.emulator import run_to_exit
from tinyc.deploy.platformio import build
from tinyc.deploy.project import render_project

BOARD = "microbit"
HELLO = paths.firmware_dir() / "apps" / "hello" / "main.c"
TICK_HZ = 8_000_000
TICK_INSTRUCTIONS = 125  # 1e9 ns / 8 MHz

# A probe application: spans of 3n (+ a fixed call overhead) instructions, a timed-out read, a fault.
PROBE = r"""
#include "tinyc_port.h"
static void put_u(uint64_t v) {
    char b[24];
    int n = 0;
    do { b[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) port_putc((uint8_t)b[--n]);
}
static void spin(uint32_t n) { __asm volatile("1: sub %0, #1\n\tnop\n\tbne 1b" : "+l"(n) : : "cc"); }
int main(void) {
    port_puts("hz ");
    put_u(port_tick_hz());
    port_puts("\nspans");
    for (uint32_t n = 1; n <= SPANS; n++) {
        port_span_begin();
        spin(n);
        uint64_t t = port_span_end();
        port_putc(' ');
        put_u(t);
    }
    uint64_t before = port_ticks();
    int c = port_getc(3);
    uint64_t after = port_ticks();
    port_puts("\ngetc ");
    put_u((uint64_t)(c + 1));
    port_puts(" waited ");
    put_u(after - before);
    port_puts("\n");
#ifdef PROBE_FAULT
    uint32_t odd = 0x20000001u; /* an unaligned word load (in assembly: GCC would split a C one into bytes) */
    __asm volatile("ldr %0, [%0]" : "+l"(odd) : : "memory");
#endif
    return 0x65;
}
"""
SPANS = 300


def _tools():
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")


def test_microbit_is_a_supported_emulated_board():
    b = get_board(BOARD)
    assert (b.kind, b.family, b.core, b.emulation.qemu_machine, b.emulation.stand_in) == (
        "emulated", "nrf51", "cortex-m0", "microbit", False)
    assert b.emulation.systick_hz is None and b.emulation.tick_hz == TICK_HZ  # TIMER0, not SysTick
    assert (b.flash, b.sram) == (256 * 1024, 16 * 1024)
    assert (paths.firmware_dir() / "ports" / "nrf51" / "port.c").is_file()
    r = CliRunner().invoke(cli, ["boards", "--json"])
    assert r.exit_code == 0, r.output
    row = next(x for x in json.loads(r.stdout) if x["id"] == BOARD)
    assert row["kind"] == "emulated" and row["port_check"] == "SVD"


def test_port_registers_match_the_nrf51_svd():
    checked, problems = svdcheck.check_board(get_board(BOARD))
    assert problems == []
    names = {a.path for a in checked}
    assert {"UART0", "TIMER0", "CLOCK.TASKS_HFCLKSTART", "UART0.BAUDRATE.BAUDRATE=Baud115200",
            "TIMER0.TASKS_CAPTURE[0]", "TIMER0.CC[0]"} <= names
    assert len(checked) >= 30
    assert svdcheck.unannotated_addresses("nrf51") == []


@pytest.mark.toolchain
@pytest.mark.emulator
def test_hello_prints_through_uart0_on_qemu_microbit(tmp_path):
    _tools()
    project = render_project(tmp_path / "hello", get_board(BOARD), [HELLO], emulate=True)
    assert project.run_board.id == BOARD
    manifest = json.loads(next((project.path / "boards").glob("*.json")).read_text())
    assert manifest["build"]["cpu"] == "cortex-m0" and manifest["upload"]["qemu_machine"] == "microbit"
    run = run_to_exit(project.run_board, build(project).elf, timeout=30)
    assert not run.timed_out
    assert run.exit_code == 0
    assert run.output == "hello from tinyc on microbit\n"


@pytest.fixture(scope="module")
def probe_elfs(tmp_path_factory):
    _tools()
    root = tmp_path_factory.mktemp("nrf51-probe")
    src = root / "probe.c"
    src.write_text(PROBE)
    elfs = {}
    for fault in (False, True):
        defines = {"SPANS": str(SPANS)} | ({"PROBE_FAULT": "1"} if fault else {})
        project = render_project(root / f"p{int(fault)}", get_board(BOARD), [src], emulate=True,
                                 extra_defines=defines)
        elfs[fault] = build(project).elf
    return elfs


@pytest.mark.toolchain
@pytest.mark.emulator
def test_timer0_counts_one_tick_per_125_instructions_exactly(probe_elfs):
    outputs = [run_to_exit(get_board(BOARD), probe_elfs[False], timeout=30) for _ in range(2)]
    for run in outputs:
        assert not run.timed_out and run.exit_code == 0x65, run.output
    assert outputs[0].output == outputs[1].output  # two QEMU invocations, the same counts
    lines = dict(line.split(" ", 1) for line in outputs[0].output.splitlines())
    assert lines["hz"] == str(TICK_HZ)
    ticks = [int(t) for t in lines["spans"].split()]
    assert len(ticks) == SPANS and ticks[-1] > 5
    # spin(n) is 3n instructions plus a fixed call overhead c: exactly one c must explain every span as
    # floor((3n + c) / 125) ticks, i.e. the counter advances once per 125 instructions, phase-locked
    # to the span's start (TASKS_CLEAR).
    fits = [c for c in range(TICK_INSTRUCTIONS)
            if all(t == math.floor((3 * n + c) / TICK_INSTRUCTIONS) for n, t in enumerate(ticks, 1))]
    assert len(fits) == 1, fits
    # A read with a 3 ms timeout gives up after 3 ms of virtual time (24,000 ticks, plus its own polling).
    getc, waited = lines["getc"].split(" waited ")
    assert getc == "0"  # -1 + 1: nothing was sent
    assert 24_000 <= int(waited) < 24_000 + 100


@pytest.mark.toolchain
@pytest.mark.emulator
def test_a_hard_fault_is_reported_on_the_console(probe_elfs):
    run = run_to_exit(get_board(BOARD), probe_elfs[True], timeout=30)
    assert not run.timed_out
    assert run.exit_code == 0x7F
    assert "\n#FAULT hardfault pc=0x" in run.output


@pytest.mark.toolchain
@pytest.mark.emulator
def test_tinyc_build_runs_digits_bit_exact_with_identical_instruction_counts(tmp_path, digits_tflite):  # noqa: F811
    _tools()
    out = tmp_path / "b"
    r = CliRunner().invoke(cli, ["build", str(digits_tflite), "--board", BOARD, "--emulate", "-o", str(out),
                                 "--runs", "3", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout[r.stdout.index("{"):])
    bench = d["bench"]
    assert bench["board"] == BOARD and bench["emulated"] and bench["unit"] == "instructions"
    assert bench["outputs_match"] is True and bench["checksums_identical"] is True
    assert bench["per_tick"] == TICK_INSTRUCTIONS and bench["tick_hz"] == TICK_HZ
    assert bench["min"] == bench["max"] > 0
    mem = d["build"]["memory"]
    assert mem["flash"] <= 256 * 1024 and mem["ram"] <= 16 * 1024
    # A second QEMU invocation of the same firmware: the same instruction count.
    r = CliRunner().invoke(cli, ["bench", str(digits_tflite), "--board", BOARD, "--firmware", str(out), "--runs", "2",
                                 "--json"])
    assert r.exit_code == 0, r.output
    again = json.loads(r.stdout[r.stdout.index("{"):])
    assert again["outputs_match"] is True
    assert again["min"] == again["max"] == bench["median"]


@pytest.mark.toolchain
@pytest.mark.emulator
def test_rpi_pico_runs_on_the_microbit_stand_in_with_its_own_cpu_flags(tmp_path):
    _tools()
    project = render_project(tmp_path / "hello", get_board("rpi-pico"), [HELLO], emulate=True)
    assert project.run_board.id == BOARD
    assert (project.flash.origin, project.ram.origin, project.ram.size) == (0, 0x20000000, 16 * 1024)
    manifest = json.loads(next((project.path / "boards").glob("*.json")).read_text())
    assert manifest["build"]["cpu"] == "cortex-m0plus"
    run = run_to_exit(project.run_board, build(project).elf, timeout=30)
    assert (run.exit_code, run.output) == (0, "hello from tinyc on rpi-pico\n")


def test_too_big_model_fails_check_for_the_microbit():
    from tinyc import zoo

    model = zoo.build("vww_mobilenet")
    r = CliRunner().invoke(cli, ["check", str(model), "--board", BOARD])
    assert r.exit_code == 1, r.output
    assert "does not fit microbit" in r.output and "SRAM" in r.output


@pytest.mark.toolchain
@pytest.mark.emulator
def test_per_layer_profile_steps_through_the_125_phases_of_a_tick(digits_tflite):  # noqa: F811
    """One tick is 125 instructions, so the profile runs start at 125 phases; over them each layer's summed
    ticks give its exact instruction count (which the readings between layers must not disturb)."""
    _tools()
    r = CliRunner().invoke(cli, ["bench", str(digits_tflite), "--board", BOARD, "--per-layer", "--runs", "2",
                                 "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout[r.stdout.index("{"):])
    assert d["outputs_match"] is True and d["min"] == d["max"]
    p = d["per_layer"]
    assert (p["tick_hz"], p["per_tick"], p["period"], p["runs"], p["exact"]) == (TICK_HZ, 125.0, 125, 125, True)
    layers = p["layers"]
    assert len(layers) == 8 and all(x["cost"] > 0 for x in layers)
    assert all(x["cost"] == int(x["cost"]) for x in layers)  # half-instruction phases: whole instructions
    # the layers add up to the whole inference, less the call into the model and the outer readings
    # (the whole figure is exact to one 125-instruction tick)
    # the whole figure, one span read in whole ticks, lies within one tick of its true count either way
    assert -125 < p["whole"] - p["layer_sum"] <= 125 + 200, (p["whole"], p["layer_sum"])
