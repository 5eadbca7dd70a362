"""Model zoo by name: small classifiers for the CPU-scale protocols, built as Keras models."""

from __future__ import annotations

from typing import Sequence

import keras

from framework.registry import Registry

MODELS: Registry[keras.Model] = Registry("model")


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
    x = keras.ops.normalize(x, axis=-1)
    return keras.ops.matmul(x, keras.ops.normalize(self.kernel, axis=0))

  def get_config(self):
    return {**super().get_config(), "units": self.units}


def _head(num_classes: int, head: str) -> keras.layers.Layer:
  if head == "linear":
    return keras.layers.Dense(num_classes, name="logits", dtype="float32")
  if head == "cosine":
    return CosineDense(num_classes, name="logits", dtype="float32")
  raise ValueError(f"head={head!r} must be 'linear' or 'cosine'")


@MODELS.register("linear")
def linear(input_shape: Sequence[int], num_classes: int, head: str = "linear") -> keras.Model:
  """Multinomial logistic regression."""
  return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                           _head(num_classes, head)], name="linear")


@MODELS.register("mlp")
def mlp(input_shape: Sequence[int], num_classes: int, hidden: Sequence[int] = (512, 512),
        head: str = "linear") -> keras.Model:
  """A ReLU multilayer perceptron (784-512-512-10 in the noisy-label protocol)."""
  if any(h <= 0 for h in hidden):
    raise ValueError(f"hidden={tuple(hidden)} must be positive widths")
  layers = [keras.Input(input_shape), keras.layers.Flatten()]
  layers += [keras.layers.Dense(h, activation="relu") for h in hidden]
  return keras.Sequential(layers + [_head(num_classes, head)], name="mlp")


@MODELS.register("small_cnn")
def small_cnn(input_shape: Sequence[int], num_classes: int, filters: Sequence[int] = (16, 32),
              dense: int = 64, head: str = "linear") -> keras.Model:
  """Conv(16)-pool-Conv(32)-pool-Dense(64): the long-tailed protocol's CNN."""
  layers = [keras.Input(input_shape)]
  for f in filters:
    layers += [keras.layers.Conv2D(f, 3, padding="same", activation="relu"),
               keras.layers.MaxPooling2D()]
  layers += [keras.layers.Flatten(), keras.layers.Dense(dense, activation="relu")]
  return keras.Sequential(layers + [_head(num_classes, head)], name="small_cnn")
