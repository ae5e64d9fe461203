"""Load the model to compress: tf-keras (Keras 2) and Keras 3 models, from files or in memory, and .tflite.

- ``.keras`` files saved by Keras 3 (TensorFlow 2.16+'s default ``keras``) load with Keras 3 and convert to
  int8 like tf-keras models; the steps that fine-tune through tensorflow-model-optimization (which works on
  tf-keras 2 models only) say so, and post-training pruning/clustering of the weights works on them.
- ``.keras``/``.h5`` saved with tf-keras and SavedModel directories exported from tf-keras load with tf-keras.
- A float .tflite is quantized after training (ai-edge-quantizer); an int8 .tflite takes the post-training
  weight steps only. Fine-tuning steps need the source model.

The loss the model was compiled with (saved in .keras and .h5 files) tells what each output predicts
(tinyc.optimize.tasks).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyc.errors import TinycError

KERAS2_ONLY = "tensorflow-model-optimization (which fine-tunes it) works on tf-keras 2 models only"


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    kind: str  # "keras" (tf-keras 2), "keras3" or "tflite"
    keras: Any = None  # the Keras model (tf_keras.Model or keras.Model) unless kind == "tflite"
    tflite: bytes | None = None
    loss: Any = None  # the loss it was compiled with, if saved

    @property
    def is_keras(self) -> bool:
        return self.kind in ("keras", "keras3")

    @property
    def describe(self) -> str:
        return {"keras": "tf-keras 2 model", "keras3": "Keras 3 model", "tflite": ".tflite"}[self.kind]


def is_keras3_model(obj: Any) -> bool:
    return type(obj).__module__.split(".")[0] == "keras" and hasattr(obj, "layers")


def load_model(path: "str | Path | Any") -> LoadedModel:
    """A model file or directory, or a Keras model object (tf-keras 2 or Keras 3) already in memory."""
    if not isinstance(path, (str, Path)):
        return _in_memory(path)
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
    loss = compile_loss(p)
    if p.suffix == ".keras":
        version = _keras_version(p)
        if version and version.split(".")[0] == "3":
            return LoadedModel(p, "keras3", keras=_load_keras3(p, version), loss=loss)
    return LoadedModel(p, "keras", keras=_load_keras(p), loss=loss)


def _in_memory(model: Any) -> LoadedModel:
    from tinyc.optimize.stack import tf_stack

    name = Path(str(getattr(model, "name", "model") or "model"))
    if isinstance(model, tf_stack().keras.Model):
        return LoadedModel(name, "keras", keras=model, loss=getattr(model, "loss", None))
    if is_keras3_model(model):
        return LoadedModel(name, "keras3", keras=model, loss=getattr(model, "loss", None))
    raise TinycError(f"{type(model).__name__}: not a Keras model; pass a tf-keras or Keras 3 model, or a model file")


def _load_keras3(p: Path, version: str):
    from tinyc.optimize.stack import keras3

    k3 = keras3()
    try:
        return k3.models.load_model(p, compile=False)
    except Exception as exc:  # noqa: BLE001 - the loaders raise anything from OSError to ValueError
        raise TinycError(f"{p}: Keras {k3.__version__} cannot load this Keras {version} model ({_short(exc)}); "
                         "register its custom layers, or save it again with keras.saving.save_model") from None


def _load_keras(p: Path):
    from tinyc.optimize.stack import tf_stack

    k = tf_stack().keras
    try:
        model = k.models.load_model(p, compile=False)
    except Exception as exc:  # the loaders raise anything from OSError to ValueError
        raise TinycError(f"{p}: tf-keras cannot load this model ({_short(exc)}); save it with tf_keras "
                         "(Keras 2) or Keras 3 as a .keras file, register custom layers, or pass the model as a "
                         ".keras/.h5 file") from None
    if not isinstance(model, k.Model):
        raise TinycError(f"{p}: a SavedModel without a Keras model inside; export it from tf_keras with "
                         "model.save(...) so tinyc can prune, cluster and quantize it")
    return model


def compile_loss(p: Path) -> Any:
    """The loss saved with the model (a Keras identifier, a dict by output, or a list), or None."""
    try:
        if p.is_file() and p.suffix == ".keras":
            with zipfile.ZipFile(p) as z:
                cfg = json.loads(z.read("config.json"))
            cc = cfg.get("compile_config") or {}
            return cc.get("loss") if isinstance(cc, dict) else None
        if p.is_file() and p.suffix in (".h5", ".hdf5"):
            import h5py

            with h5py.File(p, "r") as f:
                tc = f.attrs.get("training_config")
            if tc is None:
                return None
            tc = json.loads(tc.decode() if isinstance(tc, bytes) else tc)
            return tc.get("loss")
    except Exception:  # noqa: BLE001 - no readable compile config: the task comes from elsewhere
        return None
    return None


def _keras_version(p: Path) -> str | None:
    try:
        with zipfile.ZipFile(p) as z:
            meta = json.loads(z.read("metadata.json"))
        return str(meta.get("keras_version", ""))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return None


def refuse_tflite_training(p: Path, what: str) -> None:
    raise TinycError(f"{p}: {what} needs the trained source model (.keras, .h5 or SavedModel), not a .tflite; "
                     "pass the model the .tflite was converted from (--prune and --cluster also work on the "
                     ".tflite's weights without fine-tuning: add --no-finetune)")


def refuse_keras3_training(p: Path, what: str) -> None:
    raise TinycError(f"{p}: {what} needs a tf-keras 2 model: this is a Keras 3 model, and {KERAS2_ONLY}; "
                     "rebuild and save the model with tf_keras (pip package tf-keras), or use --prune/--cluster "
                     "with --no-finetune (post-training, on the weights as trained)")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
