"""The input normalisation layer of model.keras files written before the export used
Keras's own layers, registered so that `FinishedRun` still opens those runs (and
`model.init_from` still starts from them). New exports never contain it.
"""

from __future__ import annotations

from typing import Any, Sequence

import keras

from framework.data.augment import normalize
from framework.models import CosineDense  # noqa: F401  (registers the models' own layers)


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
