"""Classifier heads: a dense layer, or the normalised cosine layer LDAM scales by s."""

from __future__ import annotations

import keras
import numpy as np

from framework.models.standard import standardization

HEADS = ("linear", "cosine")


@keras.saving.register_keras_serializable(package="framework")
class CosineDense(keras.layers.Layer):
  """A normalised classifier head: logits are cosines in [-1, 1] (for LDAM's scale s)."""

  def __init__(self, units: int, **kwargs):
    super().__init__(**kwargs)
    self.units = units

  def build(self, input_shape):
    self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                  initializer="glorot_uniform", name="kernel")

  def call(self, x):
    # epsilon as torch's F.normalize: Keras' default (1e-7) would leave features of a norm
    # below 1e-7 (an untrained backbone in inference mode) unnormalised.
    x = keras.ops.normalize(x, axis=-1, epsilon=1e-12)
    return keras.ops.matmul(x, keras.ops.normalize(self.kernel, axis=0, epsilon=1e-12))

  def compute_output_shape(self, input_shape):
    return (*input_shape[:-1], self.units)

  def standard_layers(self, input_shape: tuple) -> list[keras.layers.Layer]:
    """The head in Keras's own layers (for export): the unit-normalised features, a
    bias-free Dense `logits` holding this kernel, each class's output divided by the norm of
    its kernel column. The logits agree to float32 rounding, and the weights are this
    layer's, so a run started from the export (model.init_from) starts from this kernel."""
    kernel = keras.ops.convert_to_numpy(self.kernel)
    dense = keras.layers.Dense(self.units, use_bias=False, name=self.name,
                               dtype=self.dtype_policy)
    dense.build(input_shape)
    dense.kernel.assign(kernel)
    norms = np.linalg.norm(kernel.astype(np.float64), axis=0)
    return [keras.layers.UnitNormalization(name=f"{self.name}_features",
                                           dtype=self.dtype_policy),
            dense, *standardization(0.0, norms, f"{self.name}_cosines", self.dtype_policy)]

  def get_config(self):
    return {**super().get_config(), "units": self.units}


def check_head(head: str) -> None:
  """Fails before a backbone is built, so a typo costs no build time."""
  if head not in HEADS:
    raise ValueError(f"head={head!r} must be 'linear' or 'cosine'")


def head_of(model: keras.Model) -> keras.layers.Layer:
  """The classifier layer: the one named `logits`, else the last layer."""
  try:
    return model.get_layer("logits")
  except ValueError:
    return model.layers[-1]


def head_layer(num_classes: int, head: str) -> keras.layers.Layer:
  """The `logits` layer, float32 whatever the dtype policy (stable losses in mixed precision)."""
  check_head(head)
  if head == "linear":
    return keras.layers.Dense(num_classes, name="logits", dtype="float32")
  return CosineDense(num_classes, name="logits", dtype="float32")
