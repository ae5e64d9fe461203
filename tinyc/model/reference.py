"""The TFLite Micro reference: golden outputs and TFLM's recorded arena use, from its Python interpreter.

tflite-micro is imported inside the functions (it loads a C++ runtime): nothing on the fast path
imports this module's dependencies. ``print_allocations()`` writes to the C++ stderr, so it is read
by pointing file descriptor 2 at a temporary file (os.dup2).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.errors import TinycError

__all__ = ["ArenaRecord", "arena_record", "run", "interpreter"]


@dataclass(frozen=True)
class ArenaRecord:
    """TFLM's own figures for one model (x86 host build: 8-byte pointers)."""

    total: int
    head: int  # the non-persistent area: planned tensors and scratch buffers
    tail: int  # persistent allocations: TfLiteEvalTensor, node structs, op data, quantization params
    sections: dict[str, int] = field(default_factory=dict)  # tail breakdown, name -> bytes used
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "head": self.head, "tail": self.tail, "sections": self.sections,
                "host": "x86_64 (8-byte pointers)"}


def _runtime():
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:  # pragma: no cover - environment problem
        raise TinycError(f"cannot import the tflite-micro interpreter ({exc}); reinstall tflite-micro") from None
    return runtime


def interpreter(model: bytes | str | Path, arena_size: int | None = None):
    """A TFLM interpreter over the model bytes (kept alive on the returned object)."""
    data = Path(model).read_bytes() if isinstance(model, (str, Path)) else bytes(model)
    runtime = _runtime()
    try:
        it = runtime.Interpreter.from_bytes(data, arena_size=arena_size)
    except (RuntimeError, ValueError) as exc:
        raise TinycError(f"TFLite Micro rejected the model: {str(exc).strip().splitlines()[0]}") from None
    it._tinyc_model_bytes = data
    return it


def _capture_fd2(fn) -> str:
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", "replace")


_LINE = re.compile(r"\[RecordingMicroAllocator\] Arena allocation (total|head|tail) (\d+) bytes")
_SECTION = re.compile(r"\[RecordingMicroAllocator\] '([^']+)' used (\d+) bytes")


def arena_record(model: bytes | str | Path) -> ArenaRecord:
    """TFLM's recorded arena (head, tail, total) after allocating and invoking once."""
    it = interpreter(model)
    details = [it.get_input_details(i) for i in range(_io_counts(it._tinyc_model_bytes)[0])]
    for i, d in enumerate(details):
        it.set_input(np.zeros(d["shape"], dtype=d["dtype"]), i)
    it.invoke()
    text = _capture_fd2(it.print_allocations)
    figures = {k: int(v) for k, v in _LINE.findall(text)}
    if set(figures) != {"total", "head", "tail"}:
        raise TinycError(f"could not read TFLM's arena figures from print_allocations(): {text[:200]!r}")
    sections = {k: int(v) for k, v in _SECTION.findall(text)}
    return ArenaRecord(figures["total"], figures["head"], figures["tail"], sections, text)


def _io_counts(data: bytes) -> tuple[int, int]:
    """Inputs and outputs of the model, from our parser (the binding prints to stdout when probed)."""
    from tinyc.model.graph import parse

    g = parse(data)
    return len(g.inputs), len(g.outputs)


def run(model: bytes | str | Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Golden outputs: run the TFLM reference interpreter once on ``inputs`` (already in the model's
    input dtype, e.g. int8, with the model's shapes)."""
    it = interpreter(model)
    n_in, n_out = _io_counts(it._tinyc_model_bytes)
    if len(inputs) != n_in:
        raise TinycError(f"the model has {n_in} inputs, got {len(inputs)}")
    for i, x in enumerate(inputs):
        d = it.get_input_details(i)
        it.set_input(np.asarray(x, dtype=d["dtype"]).reshape(d["shape"]), i)
    it.invoke()
    return [np.array(it.get_output(i)) for i in range(n_out)]
