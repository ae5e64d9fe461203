"""Load the model to compress: Keras (.keras / .h5) and SavedModel directories become tf-keras models.

A float .tflite is accepted only for post-training quantization (ai-edge-quantizer quantizes .tflite files
directly); pruning, clustering, binarization and QAT need the source model.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyc.errors import TinycError


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    kind: str  # "keras" or "tflite"
    keras: Any = None  # a tf_keras.Model when kind == "keras"
    tflite: bytes | None = None


def load_model(path: str | Path) -> LoadedModel:
    p = Path(path)
    if not p.exists():
        raise TinycError(f"{p}: no such file or directory; pass a .keras, .h5, SavedModel directory or .tflite")
    if p.is_file() and p.suffix == ".tflite":
        return LoadedModel(p, "tflite", tflite=p.read_bytes())
    if p.is_dir():
        if not (p / "saved_model.pb").is_file():
            raise TinycError(f"{p}: a directory but not a SavedModel (no saved_model.pb inside)")
    elif p.suffix not in (".keras", ".h5", ".hdf5"):
        raise TinycError(f"{p}: unknown model format {p.suffix!r}; pass a .keras, .h5, SavedModel directory "
                         "or .tflite file")
    return LoadedModel(p, "keras", keras=_load_keras(p))


def _load_keras(p: Path):
    if p.suffix == ".keras":
        version = _keras_version(p)
        if version and version.split(".")[0] == "3":
            raise TinycError(
                f"{p}: saved with Keras {version} (Keras 3); tensorflow-model-optimization needs a Keras 2 model: "
                "rebuild and save it with tf_keras (pip package tf-keras), or export a SavedModel with tf_keras")
    from tinyc.optimize.stack import tf_stack

    k = tf_stack().keras
    try:
        model = k.models.load_model(p, compile=False)
    except Exception as exc:  # the loaders raise anything from OSError to ValueError
        raise TinycError(f"{p}: tf-keras cannot load this model ({_short(exc)}); save it with tf_keras "
                         "(Keras 2), register custom layers, or pass the model as a .keras/.h5 file") from None
    if not isinstance(model, k.Model):
        raise TinycError(f"{p}: a SavedModel without a Keras model inside; export it from tf_keras with "
                         "model.save(...) so tinyc can prune, cluster and quantize it")
    return model


def _keras_version(p: Path) -> str | None:
    try:
        with zipfile.ZipFile(p) as z:
            meta = json.loads(z.read("metadata.json"))
        return str(meta.get("keras_version", ""))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return None


def refuse_tflite_training(p: Path, what: str) -> None:
    raise TinycError(f"{p}: {what} needs the trained source model (.keras, .h5 or SavedModel), not a .tflite; "
                     "pass the model the .tflite was converted from")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
