"""What the trainer needs of a model's outputs: one logit per class. A model that ends in a
softmax or sigmoid (probabilities), or whose outputs are not one per class, is one line
naming the model, what it outputs and what is allowed, before any training step.

Only what the model declares is read (its output tensor, its last layer): nothing is
called or built, so the run is unchanged.
"""

from __future__ import annotations

import keras

from framework.errors import ConfigError

_PROBABILITIES = {"softmax", "sigmoid"}


def _declared_outputs(model: keras.Model) -> list | None:
  """The output tensors of a Functional or Sequential model; None for a subclassed one,
  whose layers are listed in the order they were made, not applied."""
  try:
    return model.outputs
  except (AttributeError, ValueError):
    return None


def _last_layer(model: keras.Model) -> keras.layers.Layer | None:
  """The layer that gives the model's output; None when unknown (a subclassed model)."""
  layer = model
  while isinstance(layer, keras.Model):  # a model nested as the last layer: its last layer
    ordered = isinstance(layer, keras.Sequential) or _declared_outputs(layer)
    if not ordered or not layer.layers:
      return None
    layer = layer.layers[-1]
  return layer


def _probability_activation(layer: keras.layers.Layer | None) -> str | None:
  """'softmax' or 'sigmoid' when `layer` turns logits into probabilities, else None."""
  if isinstance(layer, keras.layers.Softmax):
    return "softmax"
  name = getattr(getattr(layer, "activation", None), "__name__", None)
  return name if name in _PROBABILITIES else None


def check_logits(model: keras.Model, num_classes: int, who: str) -> None:
  """A ConfigError when `model` declares outputs other than [batch, num_classes] logits."""
  last = _last_layer(model)
  activation = _probability_activation(last)
  if activation:
    raise ConfigError(f"{who} ends in a {activation} (layer {last.name!r}): it outputs "
                      "probabilities where the trainer expects logits; allowed: a last layer "
                      "without activation (activation=None)")
  outputs = _declared_outputs(model)
  if not outputs or len(outputs) != 1:
    return
  shape = tuple(outputs[0].shape[1:])
  if shape != (num_classes,) and None not in shape:
    raise ConfigError(f"{who} outputs {list(shape)} per example; the data has {num_classes} "
                      f"classes; allowed: outputs [{num_classes}] (one logit per class)")
