"""Small classifiers for the CPU-scale protocols: logistic regression, an MLP, a small CNN."""

from __future__ import annotations

from typing import Sequence

import keras

from framework.models.heads import head_layer
from framework.models.registry import MODELS


@MODELS.register("linear")
def linear(input_shape: Sequence[int], num_classes: int, head: str = "linear") -> keras.Model:
  """Multinomial logistic regression."""
  return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                           head_layer(num_classes, head)], name="linear")


@MODELS.register("mlp")
def mlp(input_shape: Sequence[int], num_classes: int, hidden: Sequence[int] = (512, 512),
        head: str = "linear") -> keras.Model:
  """A ReLU multilayer perceptron (784-512-512-10 in the noisy-label protocol)."""
  if any(h <= 0 for h in hidden):
    raise ValueError(f"hidden={tuple(hidden)} must be positive widths")
  layers = [keras.Input(input_shape), keras.layers.Flatten()]
  layers += [keras.layers.Dense(h, activation="relu") for h in hidden]
  return keras.Sequential(layers + [head_layer(num_classes, head)], name="mlp")


@MODELS.register("small_cnn")
def small_cnn(input_shape: Sequence[int], num_classes: int, filters: Sequence[int] = (16, 32),
              dense: int = 64, head: str = "linear") -> keras.Model:
  """Conv(16)-pool-Conv(32)-pool-Dense(64): the long-tailed protocol's CNN."""
  layers = [keras.Input(input_shape)]
  for f in filters:
    layers += [keras.layers.Conv2D(f, 3, padding="same", activation="relu"),
               keras.layers.MaxPooling2D()]
  layers += [keras.layers.Flatten(), keras.layers.Dense(dense, activation="relu")]
  return keras.Sequential(layers + [head_layer(num_classes, head)], name="small_cnn")
