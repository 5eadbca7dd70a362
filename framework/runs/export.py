"""A run's deployable model: the trained model behind the input normalisation it was trained with.

Every run leaves `WORKDIR/model.keras` (read it with `FinishedRun(WORKDIR).model()`, or
plain `keras.saving.load_model` anywhere: it holds only Keras's own layers) and a
TensorFlow SavedModel `WORKDIR/saved_model` with a `serve` signature. Both take raw inputs
as the data stores them, at the model's input size: pixels in their stored scale (0-255
for uint8 images) or the csv / npz feature columns as they are in the file (a csv's blanks
and categories too: `framework.models.table_inputs`). The serving model applies what the
pipeline applied in training (x / pixel_max, per-channel mean and std; the csv encoding, the
tabular standardisation) and returns logits: the model's outputs times the loss's
`output_scale` (LDAM's s on its cosine head, in a last `Rescaling` layer named
`output_scale`; no such layer for other losses), so a softmax of them gives the
probabilities the loss trained.
"""

from __future__ import annotations

import keras
import numpy as np

from framework.data import DataBundle
from framework.data.columns import Column
from framework.models import PeerModel
from framework.models.standard import in_standard_layers, standardization
from framework.models.table_inputs import encoded_inputs
from framework.runs import files
from framework.runs.rundir import RunDir

MODEL_FILE, SAVED_MODEL = files.MODEL, files.SAVED_MODEL


def input_normalization(data: DataBundle) -> list[keras.layers.Layer]:
  """What the pipeline (images) or the loader (tabular features) applied to raw inputs, as
  Keras layers with the same float32 arithmetic (`framework.data.augment.normalize`)."""
  if data.info.get("feature_mean") is not None:
    return standardization(data.info["feature_mean"], data.info["feature_std"], "standardize")
  t, layers = data.transform, []
  if t.pixel_max != 1.0:
    layers += standardization(0.0, t.pixel_max, "pixel_scale")
  if len(t.mean) or len(t.std):
    channels = data.input_shape[-1]
    mean = np.broadcast_to(t.mean if len(t.mean) else 0.0, channels)
    std = np.broadcast_to(t.std if len(t.std) else 1.0, channels)
    layers += standardization(mean, std, "standardize")
  return layers


OUTPUT_SCALE = "output_scale"  # the name of the last layer that scales the outputs


def serving_model(model: keras.Model, data: DataBundle, scale: float = 1.0) -> keras.Model:
  """raw inputs -> logits: the trained model, in Keras's own layers, behind its input
  normalisation and, when `scale` is not 1, before a `Rescaling(scale)` named OUTPUT_SCALE."""
  if isinstance(model, PeerModel):
    model = model.networks[0]  # the peer that answers at inference
  if data.info.get("columns"):  # a csv: raw cells in
    inputs, x = encoded_inputs([Column.from_json(c) for c in data.info["columns"]])
  else:
    inputs = x = keras.Input(data.input_shape, name="inputs")
  for layer in input_normalization(data):
    x = layer(x)
  x = in_standard_layers(model)(x)
  if scale != 1.0:
    x = keras.layers.Rescaling(scale, name=OUTPUT_SCALE)(x)
  return keras.Model(inputs, x, name="serving")


def export(model: keras.Model, data: DataBundle, rundir: RunDir, name: str = MODEL_FILE,
           saved_model: bool = True, scale: float = 1.0) -> keras.Model:
  """Writes `name` (.keras, atomically) and, optionally, the SavedModel; returns the model."""
  serving = serving_model(model, data, scale)
  path = rundir.file(name)
  serving.save(path + ".tmp.keras")
  rundir.replace(path + ".tmp.keras", path)
  if saved_model:
    serving.export(rundir.file(SAVED_MODEL), format="tf_saved_model", verbose=False)
  return serving

