"""A fast, seeded subset of benchmarks/fuzz.py (issue 19): crafted and mutated models through the verifier,
check and generate in process and a few through the CLI, a few accepted ones on the ASan host runner against
TFLite Micro, mutated board files and hostile data files. No traceback, signal, hang, sanitizer report,
crafted model accepted, wrong output or error longer than one line; the full run's results are in
benchmarks/results/fuzz.md."""

from __future__ import annotations

import argparse

from benchmarks import fuzz


def test_seeded_fuzz_subset_has_no_failures():
    args = argparse.Namespace(seed=fuzz.SEED, models=200, cli=6, asan=3, qemu=0, boards=100, data=100, data_cli=0,
                              timeout=60.0, quiet=True, keep=None)
    tally = fuzz.run(args)
    assert not tally.failures, "\n".join(tally.failures)
    sections = {}
    for (section, outcome), n in tally.counts.items():
        sections.setdefault(section, {})[outcome] = n
    models = sections["models in process: verifier, check, generate"]
    assert sum(models.values()) == 200 and models.get("refused (exit 2)", 0) > 100 and models.get("accepted", 0) > 10
    assert sum(sections["accepted models on the host (ASan + UBSan + tensor guard) vs TFLM"].values()) == 3
    assert sum(sections["board files (load, check, project)"].values()) == 100
    assert sum(sections["data files (optimize's and validate's readers)"].values()) == 100
    assert sum(n for s, c in sections.items() if "through the CLI" in s for n in c.values()) >= 6 + 10
