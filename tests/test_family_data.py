"""Per-family port data (firmware/ports/<family>/family.toml -> tinyc_family.h): a board's clock plan and
console instance are data the port reads through a generated header, and a board the data does not cover
is one line naming the file and the fix, before any compile."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tinyc.boards import BoardError, get_board
from tinyc.deploy.family import family_file, family_header


def test_the_f401s_header_holds_its_84_mhz_plan_and_usart2():
    text = family_header(get_board("nucleo-f401re"))
    defines = dict(re.findall(r"#define (\w+) (\w+)", text))
    assert defines["PLL_N"] == "336u" and defines["PLL_P"] == "4u" and defines["FLASH_WS"] == "2u"
    assert defines["CON_BASE"] == "USART2_BASE" and defines["CON_CLK_HZ"] == "PCLK1_HZ" and defines["CON_AF"] == "7u"


def test_a_clock_or_console_the_family_has_no_data_for_is_one_line_naming_the_fix():
    b = get_board("nucleo-f401re")
    with pytest.raises(BoardError, match=r'stm32f4/family.toml: no clock entry for nucleo-f401re\'s cpu.clock '
                                         r'100 MHz; add a \[clock."100 MHz"\] plan'):
        family_header(dataclasses.replace(b, clock_hz=100_000_000))
    with pytest.raises(BoardError, match=r"no console entry for .* USART3; add \[console.USART3\]"):
        family_header(dataclasses.replace(b, console=dataclasses.replace(b.console, uart="USART3")))


def test_a_family_without_data_gets_no_header():
    assert not family_file("stm32f7").is_file() or family_header(get_board("nucleo-f746")) is not None
    assert family_header(get_board("nano33ble")) is None


def test_the_header_goes_into_a_real_boards_project_only(tmp_path):
    from tests import real_builds
    from tinyc.deploy.project import render_project

    real = render_project(tmp_path / "r", get_board("nucleo-f401re"), [real_builds.HELLO], emulate=False)
    assert "#define PLL_P 4u" in (real.path / "include" / "tinyc_family.h").read_text()
    emulated = render_project(tmp_path / "e", get_board("netduinoplus2"), [real_builds.HELLO], emulate=False)
    assert not (emulated.path / "include" / "tinyc_family.h").exists()  # QEMU's port sets no clock
