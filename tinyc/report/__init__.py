"""One report per run: ``tinyc build``, ``bench``, ``validate`` and ``fit`` write ``report.html`` (self-contained:
styles inline, charts as data: URIs, no script, nothing fetched) and ``report.json`` with the same content.

Sections, in this order (a section a run has no data for says so, and which command fills it):

- ``summary``: command, model, board and the board that ran it, unit of the figures;
- ``memory``: tinyc check's prediction vs what the linker placed, part by part (flash and SRAM);
- ``layers``: per layer its Keras layer name (from the tensor names, ``tinyc.model.ops.layer_from_name``),
  operator, kernel, kernel set, weight format (dense int8, or the packed mode and bits per weight), MACs,
  instructions predicted by the kernel cost model and, after ``bench --per-layer``, measured;
- ``compression``: size and accuracy after every compression step (``tinyc optimize``'s steps);
- ``bench``: the cost of one inference on the target;
- ``validation``: the target's scores per output against the labels, TFLite Micro and the float model;
- ``fit``: the Pareto front of the search and the chosen candidate as measured.

``build_report`` assembles the JSON from the objects a command already holds (their ``to_json``), and
``write_report`` renders both files from that one JSON, so they cannot disagree.
"""

from __future__ import annotations

from tinyc.report.build import build_report, layer_rows
from tinyc.report.html import render_html, write_report, write_report_dir

SECTIONS = ("summary", "memory", "layers", "compression", "bench", "validation", "fit")

__all__ = ["SECTIONS", "build_report", "layer_rows", "render_html", "write_report", "write_report_dir"]
