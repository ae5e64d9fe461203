"""The scalar Arm set fitted to the board (issue 18): where its static scratch or its re-packing would overflow
the board, tinyc check / generate still build it. The convolutions take K in chunks small enough for the SRAM
left (the digits model fits the microbit's 16 KiB with every layer on the set), a kernel whose scratch still
does not fit keeps its reference kernel with the reason in `tinyc check`, and generate follows check's decision."""

from __future__ import annotations

import dataclasses

from tests.test_deploy_models import digits_tflite  # noqa: F401 - the cached digits model (session fixture)
from tinyc.analyze.memory import plan_improved
from tinyc.boards import get_board
from tinyc.codegen import footprint
from tinyc.codegen.generate import generate, plan_layout
from tinyc.codegen.lower import lower
from tinyc.codegen.specialize_arm_scalar import KC, conv_chunk, conv_scratch, specialize_arm_scalar
from tinyc.model.graph import load


def shrunk(board, ram: int):
    """``board`` with its RAM region cut to ``ram`` bytes."""
    regions = tuple(dataclasses.replace(r, size=ram) if r.kind == "ram" else r for r in board.regions)
    return dataclasses.replace(board, regions=regions, sram=ram)


def test_digits_fits_the_microbit_with_every_layer_on_the_scalar_set(digits_tflite):  # noqa: F811
    g = load(digits_tflite)
    b = footprint.check(g, get_board("microbit"))
    assert b.fits, (b.sram_headroom, b.flash_headroom)
    low = footprint.lowering(g, plan_improved(g), get_board("microbit"))
    assert low.variant == "arm_scalar"
    convs = [c for c in low.lowered.calls if c.op in ("CONV_2D", "FULLY_CONNECTED")]
    assert convs and all(c.kernel.kernel_set.value == "arm_scalar" for c in convs)
    assert all(dict(c.params)["col_chunk"] <= KC for c in convs if "col_chunk" in dict(c.params))


def test_chunk_follows_the_scratch_limit():
    assert conv_chunk(576, 32, 3, None) == KC
    assert conv_chunk(9, 8, 3, None) == 12
    room = conv_scratch(576, 32, 3, 0) + 16 * 40
    assert conv_chunk(576, 32, 3, room) == 40
    assert conv_chunk(576, 32, 3, conv_scratch(576, 32, 3, 0) + 10) is None


def test_a_layer_whose_scratch_cannot_fit_keeps_its_reference_kernel_with_the_reason(digits_tflite):  # noqa: F811
    g = load(digits_tflite)
    plan = plan_improved(g)
    offsets, arena, order = plan_layout(g, plan)
    lowered = lower(g, offsets, arena, order, weights="dense")
    spec = specialize_arm_scalar(lowered, scratch_limit=conv_scratch(288, 64, 3, 4) - 1)
    reasons = {c.op_index: c.reason for c in spec.choices if c.kernel_set == "reference" and c.reason}
    assert 1 in reasons and "would not fit the board's SRAM" in reasons[1], reasons
    assert spec.scratch_bytes <= conv_scratch(288, 64, 3, 4)
    assert 0 in spec.specialized  # the small first layer still fits


def test_check_and_generate_keep_layers_portable_on_a_board_too_small_for_the_scratch(digits_tflite, tmp_path):  # noqa: F811
    g = load(digits_tflite)
    micro = get_board("microbit")
    full = footprint.check(g, micro)
    # a board with just enough RAM for the model on the reference kernels: no room for the set's scratch
    ram = full.sram_used - next(i.bytes for i in full.sram_items if i.name == "kernel scratch") + 64
    small = shrunk(micro, ram)
    b = footprint.check(g, small)
    assert b.sram_headroom >= 0, b.sram_headroom
    low = footprint.lowering(g, plan_improved(g), small)
    assert low.weights.portable or low.weights.scratch_limit is not None
    kept = [c for c in low.specialization.choices if c.kernel_set == "reference" and c.reason
            and "SRAM" in c.reason]
    assert kept, [(c.op_index, c.kernel_set, c.reason) for c in low.specialization.choices]
    gm = generate(g, plan_improved(g), small, tmp_path / "gen", weights=low.weights)
    assert set(gm.kernels) == set(low.lowered.kernels)
