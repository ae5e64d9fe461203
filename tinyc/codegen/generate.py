"""Write a model's C sources: tinyc_model.{h,c}, tinyc_model_data.c and the runtime files it uses.

The output directory is flat (sources and headers side by side) so a build adds one include dir.
Only the kernels the model calls are copied; an optimized variant for the board's core is copied
beside its reference version and selected by a define in tinyc_model.c.

A model generated with a name (``tinyc generate --name kws``, tinyc.codegen.library) has its symbols and
files prefixed with it (kws_model_invoke, kws_model.h) and takes its runtime from a separate part
(``runtime_part``): the whole runtime of the board's kernel set, the same for every model on that core, so one
copy serves every model of a firmware (docs/model-api.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tinyc import __version__, paths
from tinyc.codegen import kernels as K
from tinyc.codegen.lower import LoweredModel, lower
from tinyc.codegen.render import render
from tinyc.codegen.specialize import specialize
from tinyc.errors import TinycError

RUNTIME_HEADERS = ("include/tinyc_rt.h", "include/tinyc_quant.h", "include/tinyc_conv_window.h", "kernels/broadcast.h",
                   "kernels/inplace_rows.h")
RUNTIME_COMMON = ("quant.c",)
DEFAULT_NAME = "tinyc"  # the prefix of a model generated without --name: tinyc_model.h, tinyc_model_invoke()
MODEL_API_VERSION = 1  # TINYC_MODEL_API_VERSION in the generated header (docs/model-api.md)


@dataclass(frozen=True)
class GeneratedModel:
    out_dir: Path
    sources: tuple[Path, ...]  # every .c file to compile
    headers: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    arena_size: int
    model_hash: str  # first 16 hex chars of the .tflite's SHA-256
    model_name: str
    kernels: tuple[str, ...]  # runtime macros called, e.g. TINYC_CONV2D_S8
    variant: str  # "reference", or the optimized kernel set chosen for the board's core
    defines: tuple[str, ...]
    macs: int
    weights_bytes: int  # constant data emitted (weights, biases, quantization constants)
    num_calls: int
    weights: str = "dense"  # the weight storage asked for (lower.WEIGHTS_MODES, or "per-layer")
    weight_scratch: int = 0  # bytes of static RAM (outside the arena) decoding packed weights
    packed_layers: tuple = ()  # lower.PackedWeight per filter stored packed
    profile: bool = False  # tinyc_model_invoke() records per-layer ticks (TINYC_MODEL_PROFILE)
    choices: tuple = ()  # specialize.KernelChoice per call: kernel, kernel set, why not the best set
    # Per call, the arena bytes its kernel may touch, merged: ((offset, bytes), ...) for the call's tensors and
    # scratch. The host runner's sanitized build poisons the rest of the arena during the call (codegen/host.py).
    tensor_regions: tuple[tuple[tuple[int, int], ...], ...] = ()
    name: str = DEFAULT_NAME  # the prefix of its symbols and files (--name)
    format: str = "flat"  # "flat": one folder with the kernels it calls; else tinyc.codegen.library.FORMATS
    model_dir: Path | None = None  # a library format's parts (tinyc.codegen.library); None when flat
    runtime_dir: Path | None = None

    def moved_to(self, out_dir: Path) -> "GeneratedModel":
        """The same sources after their folder moved (from an output's stage to its place)."""
        out_dir, old = Path(out_dir), self.out_dir

        def at(p):  # a path inside the folder moves with it; one outside stays
            if p is None or not Path(p).is_relative_to(old):
                return p
            return out_dir / Path(p).relative_to(old)

        return replace(self, out_dir=out_dir, sources=tuple(at(p) for p in self.sources),
                       headers=tuple(at(p) for p in self.headers), include_dirs=tuple(at(p) for p in self.include_dirs),
                       model_dir=at(self.model_dir), runtime_dir=at(self.runtime_dir))

    def to_json(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "sources": [str(p) for p in self.sources],
                "headers": [str(p) for p in self.headers], "include_dirs": [str(p) for p in self.include_dirs],
                "arena_size": self.arena_size, "model_hash": self.model_hash, "model_name": self.model_name,
                "kernels": list(self.kernels), "variant": self.variant, "defines": list(self.defines),
                "macs": self.macs, "weights_bytes": self.weights_bytes, "num_calls": self.num_calls,
                "weights": self.weights, "weight_scratch": self.weight_scratch,
                "packed_layers": [p.to_json() for p in self.packed_layers], "profile": self.profile,
                "choices": [c.to_json() for c in self.choices], "name": self.name, "format": self.format,
                "model_dir": None if self.model_dir is None else str(self.model_dir),
                "runtime_dir": None if self.runtime_dir is None else str(self.runtime_dir)}


def runtime_dir() -> Path:
    return paths.firmware_dir() / "runtime"


def plan_layout(graph, plan) -> tuple[dict[int, int], int, tuple[int, ...]]:
    """Tensor offsets, arena size and execution order from a tinyc.analyze.memory.MemoryPlan (the offsets
    also carry the plan's scratch buffers, for the layers it runs in place)."""
    from tinyc.codegen.inplace import PlanOffsets

    offsets = PlanOffsets(plan.tensor_offsets(), plan.scratch_offsets())
    if any(v < 0 for v in offsets.values()):
        raise TinycError(f"{graph.path or graph.name}: the memory plan has unplaced tensors")
    return offsets, int(plan.arena_size), tuple(plan.order)


# An optimized kernel set and the sets it falls back on, best first: a call the first does not cover
# may still have a kernel in the next (the Cortex-M55 has Helium and the DSP extension).
CHAINS = {"reference": (), "arm_dsp": ("arm_dsp",), "arm_mve": ("arm_mve", "arm_dsp"), "arm_scalar": ("arm_scalar",)}
# The cores without the DSP extension that take the scalar Arm set (ARMv6-M; ARMv7-M's Cortex-M3).
SCALAR_CORES = ("cortex-m0", "cortex-m0plus", "cortex-m1", "cortex-m3")


def chain(variant: str) -> tuple[str, ...]:
    return CHAINS[variant]


def _has_kernels(name: str) -> bool:
    d = runtime_dir() / "kernels" / name
    return d.is_dir() and any(d.glob("*.c"))


def variant_for(board) -> tuple[str, tuple[str, ...]]:
    """The optimized kernel set for a board's core, if the runtime has one, else the reference kernels."""
    if board is None:
        return "reference", ()
    for variant, flag in (("arm_mve", "helium"), ("arm_dsp", "dsp")):
        if getattr(board, flag, False) and all(_has_kernels(v) for v in CHAINS[variant]):
            return variant, tuple(f"TINYC_KERNELS_{v.upper()}" for v in CHAINS[variant])
    if not getattr(board, "dsp", False) and getattr(board, "core", None) in SCALAR_CORES \
            and _has_kernels("arm_scalar"):
        return "arm_scalar", ("TINYC_KERNELS_ARM_SCALAR",)
    return "reference", ()


@dataclass(frozen=True)
class _Struct:
    name: str
    fields: tuple


def ops_header(kernels) -> str:
    """tinyc_ops.h: the structs, macros and prototypes of ``kernels`` that are declared with their fields
    (``Kernel.generated``); one struct per name, the same fields wherever it is named."""
    structs: dict[str, _Struct] = {}
    for k in kernels:
        s = structs.setdefault(k.params, _Struct(k.params, k.fields))
        if s.fields != k.fields:
            raise TinycError(f"kernel {k.macro}: struct {k.params} is declared with other fields elsewhere; "
                             "one struct, one set of fields")
    return render("codegen/tinyc_ops.h.j2", structs=list(structs.values()), kernels=list(kernels))


def check_name(name: str) -> str:
    """A model's name (``--name``): the prefix of its C symbols, macros and files."""
    import re

    if name == DEFAULT_NAME:
        return name
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name or "") or name.endswith("_"):
        raise TinycError(f"--name {name!r}: a model's name is a C identifier prefix: a lower-case letter, then up "
                         "to 31 lower-case letters, digits or '_' (not last), e.g. --name kws")
    if name.startswith("tinyc_"):
        raise TinycError(f"--name {name!r}: names starting with tinyc_ are the runtime's; choose another")
    return name


def model_files(name: str = DEFAULT_NAME) -> tuple[str, str, str]:
    """The generated files of a model named ``name``: header, code, constant data."""
    return f"{name}_model.h", f"{name}_model.c", f"{name}_model_data.c"


def runtime_config(variant: str) -> str:
    """tinyc_rt_config.h: the kernel set chosen for the board's core."""
    config = "/* Generated: the kernel set chosen for the board's core. */\n"
    for v in chain(variant):
        config += f"#ifndef TINYC_KERNELS_{v.upper()}\n#define TINYC_KERNELS_{v.upper()} 1\n#endif\n"
    return config


def render_sources(lowered: LoweredModel, variant: str, profile: bool = False,
                   name: str = DEFAULT_NAME) -> dict[str, str]:
    """The model's generated files (``model_files(name)``) and tinyc_rt_config.h, by file name."""
    declared = K.generated(lowered.kernels)
    ctx = dict(p=name, P=name.upper(), profile=profile, model_name=lowered.name, model_hash=lowered.sha256[:16], arena_size=lowered.arena_size,
               inputs=lowered.inputs, outputs=lowered.outputs, calls=lowered.calls, consts=lowered.consts,
               init_calls=lowered.init_calls,
               macs=lowered.macs, weights_bytes=lowered.weights_bytes,
               variant_headers=["tinyc_rt_config.h"] + (["tinyc_unpack.h"] if lowered.packed else [])
               + (["tinyc_ops.h"] if declared else []))
    h, c, data = model_files(name)
    return {
        h: render("codegen/tinyc_model.h.j2", **ctx),
        c: render("codegen/tinyc_model.c.j2", **ctx),
        data: render("codegen/tinyc_model_data.c.j2", **ctx),
        "tinyc_rt_config.h": runtime_config(variant),
    }


def ops_header_file(kernels) -> Path:
    """tinyc_ops.h for ``kernels`` as a file (in the cache, named by its digest): copied like the runtime's
    headers, and compiled with the kernels wherever they are (generate, the code-size measurement)."""
    text = ops_header(kernels)
    f = paths.cache_dir() / "ops-headers" / hashlib.sha256(text.encode()).hexdigest()[:16] / "tinyc_ops.h"
    if not f.is_file():
        f.parent.mkdir(parents=True, exist_ok=True)
        tmp = f.with_name(f".tinyc_ops.h.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, f)
    return f


def runtime_files(lowered: LoweredModel, variant: str) -> list[Path]:
    rt = runtime_dir()
    files = [rt / h for h in RUNTIME_HEADERS] + [rt / c for c in RUNTIME_COMMON]
    if lowered.packed:
        files.append(rt / "include" / "tinyc_unpack.h")
    files += [rt / "kernels" / s for s in lowered.sources]
    declared = K.generated(lowered.kernels)
    if declared:
        files.append(ops_header_file(declared))
    stems = {Path(s).stem for s in lowered.sources}
    for v in chain(variant):
        vdir = rt / "kernels" / v
        files += sorted(vdir.glob("*.h"))
        files += [f for f in sorted(vdir.glob("*.c")) if f.stem.replace(f"_{v}", "") in stems]
    # an optimized kernel of a user's operator folder (declared with the path of its C file)
    files += sorted({Path(K.get(m).source) for m in lowered.kernels if Path(K.get(m).source).is_absolute()} - set(files))
    return files


def runtime_part(variant: str) -> dict[str, Path | str]:
    """The runtime as a part of its own, for models generated with a name: every declared kernel of the reference
    set and of ``variant``'s chain (a user's operator kernels too), the packed-weight decoder, the runtime's headers,
    tinyc_ops.h for every kernel declared with its fields and tinyc_rt_config.h (file name -> the file to copy, or
    the text to write). It depends on the kernel set only, so every model generated for the same core gets the
    same part: a firmware holds one copy whatever the number of its models. A linker given it as a library (or
    with --gc-sections) keeps only the kernels the models call."""
    from tinyc.codegen.lower import UNPACK_SOURCE

    rt = runtime_dir()
    sets = ("reference", *chain(variant))
    kernels = [k for k in K.all_kernels() if k.kernel_set.value in sets]
    sources = sorted({k.source for k in kernels if not Path(k.source).is_absolute()} | {UNPACK_SOURCE})
    files: list[Path] = [*sorted((rt / "include").glob("*.h")), *sorted((rt / "kernels").glob("*.h")),
                         *(rt / c for c in RUNTIME_COMMON), *(rt / "kernels" / s for s in sources)]
    stems = {Path(s).stem for s in sources}
    for v in chain(variant):
        vdir = rt / "kernels" / v
        files += sorted(vdir.glob("*.h"))
        files += [f for f in sorted(vdir.glob("*.c")) if f.stem.replace(f"_{v}", "") in stems]
    files += sorted({Path(k.source) for k in kernels if Path(k.source).is_absolute()} - set(files))
    part: dict[str, Path | str] = {}
    for f in files:
        if part.setdefault(f.name, f) != f:
            raise TinycError(f"two runtime files are both named {f.name}: {part[f.name]} and {f}; rename one")
    declared = K.generated([k.macro for k in kernels])
    if declared:
        part["tinyc_ops.h"] = ops_header(declared)
    part["tinyc_rt_config.h"] = runtime_config(variant)
    return part


def tensor_regions(graph, plan, calls) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per kernel call, the arena ranges (offset, bytes) of its operator's activation tensors and scratch,
    overlapping and touching ranges merged."""
    offsets, _, _ = plan_layout(graph, plan)
    out = []
    for call in calls:
        op = graph.operators[call.index]
        spans = [(offsets[i], graph.tensor(i).nbytes) for i in (*op.inputs, *op.outputs)
                 if i >= 0 and not graph.tensor(i).is_constant and i in offsets]
        spans += [(int(s[0]), int(s[1])) for s in offsets.scratch.get(op.index, ())]
        merged: list[list[int]] = []
        for start, n in sorted((a, a + b) for a, b in spans if b > 0):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], n)
            else:
                merged.append([start, n])
        out.append(tuple((a, b - a) for a, b in merged))
    return tuple(out)


def lower_for(graph, plan, board, weights="auto"):
    """The model lowered and specialized for ``board`` as ``generate`` writes it: (variant, defines, weights
    mode, lowered model, specialization). Raises before anything is written."""
    variant, defines = variant_for(board)
    if isinstance(weights, str) and weights in ("auto", "packed", "packed-ram"):  # decided for the board as tinyc check does
        from tinyc.codegen.footprint import lowering

        low = lowering(graph, plan, board, weights)
        mode, lowered, spec = weights, low.lowered, low.specialization  # specialized already
    else:
        mode = weights.mode if hasattr(weights, "choice") else weights if isinstance(weights, str) else "per-layer"
        offsets, arena, order = plan_layout(graph, plan)
        lowered = lower(graph, offsets, arena, order,  # raises before anything is written
                        weights=weights.choice() if hasattr(weights, "choice") else weights)
        spec = specialize(lowered, variant, getattr(weights, "scratch_limit", None),  # optimized kernels for the
                          dict(getattr(weights, "portable", ()) or ()),  # core, fitted to the board as check did
                          tuple(getattr(weights, "resident", ()) or ()))
        lowered = spec.lowered
    return variant, defines, mode, lowered, spec


def generate(graph, plan, board, out_dir, *, weights="auto", profile: bool = False) -> GeneratedModel:
    """Write the model's C sources into ``out_dir``, a new or empty folder: a library call that writes plainly,
    where the commands write through ``tinyc.outputs.OutputDir`` (staged, swapped in atomically).

    ``weights`` says how CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED filters are stored
    (docs/compressed-weights.md): a decision already made (a tinyc.analyze.weights.WeightPlan, as
    ``tinyc check`` makes it, or a per-layer mapping op index -> "packed"/"dense"); "auto" makes that
    decision here for ``board`` (dense while the model fits the board dense); "packed" packs wherever the
    blob is smaller, "dense" never, "all" every filter (RAW records too). ``profile`` makes
    tinyc_model_invoke() add each layer's ticks of tinyc_profile_clock() (the application's) to
    tinyc_layer_ticks[]; off, nothing is emitted."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TinycError(f"{out_dir}: exists and is not a directory; pass a directory for the sources")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise TinycError(f"{out_dir}: directory is not empty; choose another")
    variant, defines, mode, lowered, spec = lower_for(graph, plan, board, weights)
    texts = render_sources(lowered, variant, profile)
    files = runtime_files(lowered, variant)

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out_dir / name).write_text(text)
    for f in files:
        shutil.copyfile(f, out_dir / f.name)
    names = sorted(p.name for p in out_dir.iterdir())
    return GeneratedModel(
        out_dir=out_dir, sources=tuple(out_dir / n for n in names if n.endswith(".c")),
        headers=tuple(out_dir / n for n in names if n.endswith(".h")), include_dirs=(out_dir,),
        arena_size=lowered.arena_size, model_hash=lowered.sha256[:16], model_name=lowered.name,
        kernels=lowered.kernels, variant=variant, defines=defines, macs=lowered.macs,
        weights_bytes=lowered.weights_bytes, num_calls=len(lowered.calls), weights=mode,
        weight_scratch=lowered.weight_scratch, packed_layers=lowered.packed, profile=profile,
        choices=tuple(getattr(spec, "choices", ()) or ()), tensor_regions=tensor_regions(graph, plan, lowered.calls))


def source_hash() -> str:
    """Hash of the runtime and templates: a cache key for anything compiled from them."""
    h = hashlib.sha256(__version__.encode())
    for base in (runtime_dir(), paths.templates_dir() / "codegen"):
        for f in sorted(base.rglob("*")):
            if f.is_file():
                h.update(str(f.relative_to(base)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]
