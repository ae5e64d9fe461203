"""tinyc fit's linked correction is per model (issue 20): what the linker added beyond the analysis for one
model's candidates never shifts the flash limit or the constraints of another model's search on the board
(it used to be a per-board running maximum over every model ever measured)."""

from __future__ import annotations

import re
from pathlib import Path

from tinyc.fit.correction import LinkedCorrection

FLASH, SRAM = 64 * 1024, 20 * 1024


def _load(cache, model, board="bluepill"):
    return LinkedCorrection.load(cache, board, True, model, "gen0")


def test_a_measurement_of_one_model_no_longer_shifts_another_models_search(tmp_path):
    before = _load(tmp_path, "model-b")
    limit, over = before.flash_limit(FLASH), before.over(50_000, 12_000, FLASH, SRAM)
    _load(tmp_path, "model-a").record(linked_flash=40_000, linked_ram=9_000, predicted_flash=31_000,
                                      predicted_sram=8_000)  # model A's linker took 9,000 B flash more
    b = _load(tmp_path, "model-b")
    assert (b.flash, b.ram) == (0, 0)
    assert b.flash_limit(FLASH) == limit == FLASH  # B's weight decision may still fill the whole budget
    assert b.over(50_000, 12_000, FLASH, SRAM) == over == {"flash": 50_000 - FLASH, "sram": 12_000 - SRAM}


def test_the_same_models_next_search_starts_from_what_its_links_said(tmp_path):
    a = _load(tmp_path, "model-a")
    a.record(40_000, 9_000, 31_000, 8_000)
    a.record(35_000, 8_500, 31_000, 8_000)  # a smaller excess later: the largest stays
    again = _load(tmp_path, "model-a")
    assert (again.flash, again.ram) == (9_000, 1_000)
    assert again.flash_limit(FLASH) == FLASH - 9_000
    assert again.over(50_000, 12_000, FLASH, SRAM) == {"flash": 59_000 - FLASH, "sram": 13_000 - SRAM}
    assert (_load(tmp_path, "model-a", board="nucleo-f401re").flash, again.to_json()) == (0, {"flash": 9_000,
                                                                                               "ram": 1_000})


def test_a_damaged_correction_file_counts_as_none(tmp_path):
    a = _load(tmp_path, "model-a")
    a.path.parent.mkdir(parents=True)
    a.path.write_text("{not json")
    assert _load(tmp_path, "model-a").to_json() == {"flash": 0, "ram": 0}


def test_the_search_keys_its_correction_by_the_model():
    src = (Path(__file__).resolve().parents[1] / "tinyc" / "fit" / "search.py").read_text()
    call = re.search(r"LinkedCorrection\.load\(([^)]*)\)", src)
    assert call and "mhash" in call.group(1), "run_fit must load the correction of the model it searches"
