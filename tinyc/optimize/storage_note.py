"""What `tinyc optimize` says about where its compressed weights end up (issue 14): pruned, clustered or
binarized weights shrink flash only when stored packed, and tinyc stores them dense whenever the model fits
the board dense (tinyc.analyze.weights), because packed weights are decoded on every inference."""

from __future__ import annotations


def dense_storage_note(report) -> str | None:
    """A one-line note when packing would save flash (the report's "packed (MCU)" size is below the int8
    .tflite's), else None. ``report``: tinyc.optimize.report.OptimizeReport."""
    steps = getattr(report, "steps", ())
    final = steps[-1].figures if steps else None
    if final is None or final.packed_bytes >= final.tflite_bytes:
        return None
    saved = final.tflite_bytes - final.packed_bytes
    return (f"the packed size ({final.packed_bytes:,} B, {saved:,} B under int8) is flash saved only where the "
            "weights are stored packed: tinyc check/generate/build store them dense (the fast kernels) whenever "
            "the model fits the board dense, and pack only the filters it takes to fit (--weights auto); "
            "'tinyc check MODEL --board ID' shows each layer's storage, --weights packed packs them all")
