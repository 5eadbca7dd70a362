"""The models in Keras's own layers, so an exported file loads wherever Keras does.

Each layer the framework defines (CosineDense, ShortcutA) offers
`standard_layers(input_shape)`: Keras layers computing the same function from its current
weights. `in_standard_layers(model)` rebuilds a model with those in their place (every
other layer shared), at export only: training keeps the framework's layers, whose numerics
and gradients the runs were made with.
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np

# float32 exponents e (x = f * 2**e, f in [0.5, 1)) of the divisors Normalization takes
# as they are: sqrt(d * d) == d exactly, above its 1e-7 floor and below overflow.
_EXACT_EXPONENTS = (-22, 63)


def in_standard_layers(model: keras.Model) -> keras.Model:
  """`model` with every top-level layer that has `standard_layers` replaced by them; the
  model itself when it has none, or when it is a subclass (its own `call`)."""
  if not any(hasattr(layer, "standard_layers") for layer in model.layers):
    return model
  if isinstance(model, keras.Sequential):
    model = keras.Model(model.inputs[0], model.outputs[0], name=model.name)
  if not isinstance(model, keras.Function):
    return model
  return keras.models.clone_model(model, clone_function=lambda layer: layer,
                                  call_function=_call_standard)


def _call_standard(layer: keras.layers.Layer, *args, **kwargs):
  if not hasattr(layer, "standard_layers"):
    return layer(*args, **kwargs)
  x = args[0]
  for standard in layer.standard_layers(tuple(x.shape)):
    x = standard(x)
  return x


def standardization(mean: Sequence[float] | float, std: Sequence[float] | float, name: str,
                    dtype: str | keras.DTypePolicy = "float32") -> list[keras.layers.Layer]:
  """Layers computing float32 (x - mean) / std per entry of the last axis, rounded as
  TensorFlow's subtraction and division round (bit for bit).

  keras.layers.Normalization divides by max(sqrt(variance), 1e-7): with variance std**2,
  sqrt gives std back exactly. A std outside its exact range is first brought into
  [0.5, 1) by a power of two, x and mean scaled alike (Rescaling by 2**-e is exact).
  """
  mean, std = np.float32(mean), np.float32(std)
  exponents = np.frexp(std)[1]
  exact = (exponents >= _EXACT_EXPONENTS[0]) & (exponents <= _EXACT_EXPONENTS[1])
  scale = np.where(exact, 1.0, np.ldexp(1.0, -exponents)).astype(np.float32)
  layers = []
  if not exact.all():
    layers.append(keras.layers.Rescaling(scale.tolist(), name=f"{name}_prescale", dtype=dtype))
  scaled_std = std.astype(np.float64) * scale
  layers.append(keras.layers.Normalization(
      axis=-1, mean=(mean.astype(np.float64) * scale).tolist(),
      variance=(scaled_std * scaled_std).tolist(), name=name, dtype=dtype))
  return layers
