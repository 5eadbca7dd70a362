"""Classifier heads: a dense layer, or the normalised cosine layer LDAM scales by s."""

from __future__ import annotations

import keras

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

  def get_config(self):
    return {**super().get_config(), "units": self.units}


def check_head(head: str) -> None:
  """Fails before a backbone is built, so a typo costs no build time."""
  if head not in HEADS:
    raise ValueError(f"head={head!r} must be 'linear' or 'cosine'")


def head_layer(num_classes: int, head: str) -> keras.layers.Layer:
  """The `logits` layer, float32 whatever the dtype policy (stable losses in mixed precision)."""
  check_head(head)
  if head == "linear":
    return keras.layers.Dense(num_classes, name="logits", dtype="float32")
  return CosineDense(num_classes, name="logits", dtype="float32")
