"""The operators tinyc runs: one module per TFLite operator, discovered from this folder.

An operator's module declares everything tinyc knows about it in one ``OpDecl`` (``OP = OpDecl(...)``, or
``OPS = (...)`` for several): the op versions it handles, its MACs, its memory rules (a view of its input,
an in-place form, the scratch TFLite Micro's kernel requests), the checks a file's tensors must pass for it
(``verify``), how it lowers to kernel calls (``lower``), the code size of its kernels, the Keras layers that
produce it and its test models (``examples``, built into the zoo and checked bit for bit against TFLite
Micro). Its C kernel is one file under firmware/runtime/kernels/ (declared with ``tinyc.codegen.kernels``,
in this module or with the kernel sets).

Every stage reads the declarations through this registry (``tinyc.model.ops`` the rules, ``tinyc.model.verify``
the checks, ``tinyc.codegen.lower`` the lowering, ``tinyc.analyze.budget`` the code size), so adding an
operator touches no other module: docs/how-to/add-an-operator.md. Folders named in ``TINYC_OPERATORS``
(``os.pathsep``-separated) are read too, after this one: a user's operators, with their C files beside them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from tinyc.errors import TinycError

if TYPE_CHECKING:  # annotations only: the stages import this registry, not the other way round
    from tinyc.codegen.kernels import Kernel
    from tinyc.model.graph import Graph, Operator
    from tinyc.model.inplace import InPlace

__all__ = ["OpDecl", "Example", "CodeSize", "all_ops", "get", "find", "add_folder", "folders", "option", "ENV"]

ENV = "TINYC_OPERATORS"


def option(op: "Operator", key: str, default=None):
    """An operator option from the file, or ``default``."""
    return op.options.get(key, default)


def no_macs(g: "Graph", op: "Operator") -> int:
    return 0


def elementwise_macs(g: "Graph", op: "Operator") -> int:
    """One multiply per output element."""
    return g.tensor(op.outputs[0]).size if op.outputs else 0


@dataclass(frozen=True)
class CodeSize:
    """Bytes of .text its kernels add: firmware/runtime/kernels/<op>.c compiled on its own with arm-none-eabi-gcc
    12.2 -Os -mthumb (reference: -mcpu=cortex-m4), and what the DSP variant linked beside it adds (-mcpu=cortex-m7).
    Measured, and labelled an estimate wherever shown: the linked size depends on core, flags and the variant
    the build selects (tinyc/deploy/report.py compares them with the linked firmware)."""

    reference: int
    dsp_extra: int = 0


@dataclass(frozen=True)
class Example:
    """A small Keras model for the zoo (``tinyc.zoo``): the bit-exact tests run it on every kernel set.

    ``build(keras, *inputs)`` returns the output tensor(s) for Keras inputs of ``input_shapes`` (batch 1);
    ``ops`` the operators it exercises (default: the declaring one); ``description`` defaults to the docstring
    of ``build``; ``float_io`` keeps float32 model inputs and outputs (QUANTIZE/DEQUANTIZE at the edges);
    ``batch`` None leaves the batch dimension dynamic, as a user's Keras model has it (the converter then writes
    EXPAND_DIMS and SHAPE arithmetic it folds away at batch 1)."""

    name: str
    input_shapes: tuple[tuple[int, ...], ...]
    build: Callable[..., Any]
    ops: tuple[str, ...] = ()
    description: str = ""
    float_io: bool = False
    batch: int | None = 1


@dataclass(frozen=True)
class OpDecl:
    """One TFLite operator as tinyc runs it."""

    name: str  # the TFLite builtin
    max_version: int  # the highest op version its kernels (and these rules) understand
    lower: Callable[..., None]  # (tinyc.codegen.lower.Lowering, Operator): adds its kernel call(s)
    verify: Callable[..., None] | None = None  # (tinyc.model.verify.Checker, Operator): the file's consistency
    macs: Callable[["Graph", "Operator"], int] = no_macs
    view: bool = False  # output may alias input 0 (same bytes, reinterpreted shape): the kernel is then a no-op
    inplace_input: int | None = None  # input the kernel may overwrite with its output, no scratch, any shape
    inplace: Callable[["Graph", "Operator"], "InPlace | None"] | None = None  # its in-place form per instance
    scratch: Callable[["Graph", "Operator"], list[int]] | None = None  # TFLite Micro's kernel's scratch requests
    runtime_scratch: Callable[["Graph", "Operator"], list[int]] | None = None  # tinyc's kernel's arena scratch
    activation_dtypes: tuple[str, ...] = ("int8",)
    code_size: CodeSize = CodeSize(0)
    kernels: tuple["Kernel", ...] = ()  # its reference kernels (the optimized sets declare what they replace)
    layers: tuple[str, ...] = ()  # the Keras layers that convert to it
    examples: tuple[Example, ...] = ()
    note: str = ""
    module: str = ""  # the file that declared it (set by the registry)


_OPS: dict[str, OpDecl] | None = None
_LOADING: dict[str, OpDecl] | None = None  # while the modules load: what is declared so far
_FOLDERS: list[Path] = []


def _declarations(mod, origin: str) -> list[OpDecl]:
    decls = getattr(mod, "OPS", None)
    if decls is None:
        decl = getattr(mod, "OP", None)
        decls = (decl,) if decl is not None else ()
    out = []
    for d in decls:
        if not isinstance(d, OpDecl):
            raise TinycError(f"{origin}: OP/OPS must hold tinyc.operators.OpDecl declarations, found "
                             f"{type(d).__name__}")
        out.append(OpDecl(**{**d.__dict__, "module": origin}))
    return out


def _load_folder(folder: Path, ops: dict[str, OpDecl]) -> None:
    if not folder.is_dir():
        raise TinycError(f"{folder}: operator folder not found (from {ENV} or add_folder); name a folder of "
                         "operator modules")
    for f in sorted(folder.glob("*.py")):
        if f.name.startswith("_"):
            continue
        name = f"tinyc_user_operators.{abs(hash(str(folder)))}.{f.stem}"
        spec = importlib.util.spec_from_file_location(name, f)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except Exception as exc:
            raise TinycError(f"{f}: the operator module fails to load ({type(exc).__name__}: {exc}); fix it or "
                             f"remove its folder from {ENV}") from None
        for d in _declarations(mod, str(f)):
            if d.name in ops:
                raise TinycError(f"{f}: operator {d.name} is already declared by {ops[d.name].module}; "
                                 "one declaration per operator")
            ops[d.name] = d


def _discover(ops: dict[str, OpDecl]) -> None:
    here = Path(__file__).parent
    for f in sorted(here.glob("*.py")):
        if f.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{f.stem}")
        for d in _declarations(mod, f"tinyc/operators/{f.name}"):
            if d.name in ops:
                raise TinycError(f"tinyc/operators/{f.name}: operator {d.name} is declared twice")
            ops[d.name] = d
    for folder in folders():
        _load_folder(folder, ops)


def folders() -> list[Path]:
    """The folders of a user's operators: ``TINYC_OPERATORS``, then those given to ``add_folder``."""
    return [*(Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p), *_FOLDERS]


def all_ops() -> dict[str, OpDecl]:
    """Every declared operator, by TFLite name (tinyc's own first, then the folders of ``TINYC_OPERATORS``).
    Asked again while the modules load (a module's imports reach the registry), it answers what is declared so
    far instead of loading them twice."""
    global _OPS, _LOADING
    if _OPS is None:
        if _LOADING is not None:
            return _LOADING
        _LOADING = {}
        try:
            _discover(_LOADING)
            _OPS = _LOADING
        finally:
            _LOADING = None
    return _OPS


def find(name: str) -> OpDecl | None:
    return all_ops().get(name)


def get(name: str) -> OpDecl:
    d = find(name)
    if d is None:
        raise KeyError(f"no operator {name} is declared (tinyc/operators/)")
    return d


def add_folder(folder: str | Path) -> None:
    """Read the operator modules of ``folder`` too (what ``TINYC_OPERATORS`` does for a process)."""
    global _OPS
    folder = Path(folder).resolve()
    if folder not in _FOLDERS:
        _FOLDERS.append(folder)
        _OPS = None
