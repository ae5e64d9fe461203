"""The does-not-fit verdict is built in one place (tinyc.errors.DoesNotFit.over_budget) for check and build:
the model, the board, by how much each memory is over, then what to do."""

from __future__ import annotations

from types import SimpleNamespace

from tinyc.deploy.pipeline import does_not_fit
from tinyc.errors import DoesNotFit


def _budget(flash: int, sram: int):
    return SimpleNamespace(flash_headroom=flash, sram_headroom=sram, board="bluepill")


def test_only_the_memories_that_are_over_are_named():
    assert str(DoesNotFit.over_budget("m.tflite", _budget(-10, 5))) == "m.tflite does not fit bluepill: over flash by 10 B"
    assert str(DoesNotFit.over_budget("m.tflite", _budget(-10, -3), fix="; see the advice above")) == (
        "m.tflite does not fit bluepill: over flash by 10 B and SRAM by 3 B; see the advice above")
    assert DoesNotFit.over_budget("m.tflite", _budget(0, -1)).exit_code == 1


def test_build_names_the_keras_model_and_the_commands_that_say_what_would_fit():
    plain = str(does_not_fit("m.tflite", _budget(3, -7)))
    assert plain.startswith("m.tflite does not fit bluepill: over SRAM by 7 B (tinyc check m.tflite --board bluepill")
    assert plain.endswith("--force-build builds anyway and lets the linker decide)")
    keras = str(does_not_fit("stage/m.int8.tflite", _budget(-1, 0), source="m.keras"))
    assert keras.startswith("m.keras does not fit bluepill once optimized to int8: over flash by 1 B ('tinyc optimize "
                            "m.keras -o m.int8.tflite' then 'tinyc check m.int8.tflite --board bluepill'")
