"""A run's deployable model: the trained model behind the input normalisation it was trained with.

Every run leaves `WORKDIR/model.keras` (read it with `FinishedRun(WORKDIR).model()`, or
`keras.saving.load_model` after `import framework.runs.export`, which registers the custom
layers) and a TensorFlow SavedModel `WORKDIR/saved_model` with a `serve` signature. Both
take raw inputs as the data stores them, at the model's input size: pixels in their stored
scale (0-255 for uint8 images) or the csv / npz feature columns as they are in the file.
The serving model applies what the pipeline applied in training (x / pixel_max,
per-channel mean and std; the tabular standardisation) and returns logits.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np

from framework.data import DataBundle
from framework.data.augment import normalize
from framework.runs.rundir import RunDir
from framework.models import PeerModel
from framework.runs import files

MODEL_FILE, SAVED_MODEL = files.MODEL, files.SAVED_MODEL


@keras.saving.register_keras_serializable(package="framework")
class InputNormalization(keras.layers.Layer):
  """(x / pixel_max - mean) / std per entry of the last axis, in float32."""

  def __init__(self, pixel_max: float = 1.0, mean: Sequence[float] = (),
               std: Sequence[float] = (), **kwargs: Any):
    super().__init__(**kwargs)
    self.pixel_max, self.mean, self.std = float(pixel_max), tuple(mean), tuple(std)

  def call(self, x):
    return normalize(x, self.pixel_max, self.mean, self.std)

  def get_config(self) -> dict:
    return {**super().get_config(), "pixel_max": self.pixel_max, "mean": list(self.mean),
            "std": list(self.std)}


def input_normalization(data: DataBundle) -> InputNormalization:
  """What the pipeline (images) or the loader (tabular features) applied to raw inputs."""
  if data.info.get("feature_mean") is not None:
    return InputNormalization(1.0, np.asarray(data.info["feature_mean"]).tolist(),
                              np.asarray(data.info["feature_std"]).tolist())
  t = data.transform
  return InputNormalization(t.pixel_max, t.mean, t.std)


def serving_model(model: keras.Model, data: DataBundle) -> keras.Model:
  """raw inputs -> logits: the trained model behind its input normalisation."""
  if isinstance(model, PeerModel):
    model = model.networks[0]  # the peer that answers at inference
  inputs = keras.Input(data.input_shape, name="inputs")
  return keras.Model(inputs, model(input_normalization(data)(inputs)), name="serving")


def export(model: keras.Model, data: DataBundle, rundir: RunDir, name: str = MODEL_FILE,
           saved_model: bool = True) -> keras.Model:
  """Writes `name` (.keras, atomically) and, optionally, the SavedModel; returns the model."""
  serving = serving_model(model, data)
  path = rundir.file(name)
  serving.save(path + ".tmp.keras")
  rundir.replace(path + ".tmp.keras", path)
  if saved_model:
    serving.export(rundir.file(SAVED_MODEL), format="tf_saved_model", verbose=False)
  return serving

