"""Where the data and the model meet: a model that cannot take the data's inputs is one line
naming the model, the inputs it needs, the inputs the data gives, and what fits.

When a model fails to build on the data's input shape, it is built once more on the other
kind of input (images [32, 32, 3] for feature vectors, vectors [16] for images), without
pretrained weights; if that builds, the failure was the kind of input. A model given as an
object is checked against its declared input shape.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import keras

from framework.errors import ConfigError

IMAGE_PROBE = (32, 32, 3)
VECTOR_PROBE = (16,)


def describe(shape: Sequence[Any]) -> str:
  """'images [28, 28, 1]', 'feature vectors [16]' or 'inputs [...]'."""
  dims = ", ".join("?" if d is None else str(d) for d in shape)
  kind = {3: "images", 1: "feature vectors"}.get(len(shape), "inputs")
  return f"{kind} [{dims}]"


def _kind(shape: Sequence[Any]) -> str:
  return {3: "images [H, W, C]", 1: "feature vectors [D]"}.get(len(shape), describe(shape))


def what_fits(shape: Sequence[Any]) -> str:
  """The models that take inputs of `shape`."""
  if len(shape) == 1:
    return "use model.name='mlp' (or 'linear'), or experiments/tabular.py"
  if len(shape) == 3:
    return ("use an image model (model.name='small_cnn', 'resnet32', ...) or one that "
            "flattens ('mlp', 'linear')")
  return "use model.name='mlp' or 'linear', which flatten any input"


def _probe(shape: Sequence[Any]) -> tuple[int, ...] | None:
  return {1: IMAGE_PROBE, 3: VECTOR_PROBE}.get(len(shape))


def _builds(build: Callable[[tuple], Any], shape: tuple) -> bool:
  try:
    build(shape)
  except Exception:  # pylint: disable=broad-except  (any failure: it does not build)
    return False
  return True


def without_pretrained(factory: Callable, kwargs: dict) -> dict:
  """`kwargs` with `weights=None` when the factory takes pretrained weights (no download)."""
  if "weights" in inspect.signature(factory).parameters:
    return {**kwargs, "weights": None}
  return kwargs


def check_declared_inputs(model: keras.Model, shape: Sequence[int], who: str,
                          data: str) -> None:
  """A ConfigError when the model's declared input shape cannot take `shape`."""
  try:
    inputs = model.inputs
  except (AttributeError, ValueError):  # a subclassed model not yet built declares none
    return
  if not inputs or len(inputs) != 1:
    return
  declared = tuple(inputs[0].shape[1:])
  fits = len(declared) == len(shape) and all(d is None or d == s
                                               for d, s in zip(declared, shape))
  if not fits:
    raise ConfigError(f"{who} takes {describe(declared)}; {data} gives {describe(shape)}; "
                      f"{what_fits(shape)}")


def build_for(build: Callable[[tuple], keras.Model], probe_build: Callable[[tuple], Any],
              shape: Sequence[int], who: str, data: str) -> keras.Model:
  """`build(shape)`; when it fails but `probe_build` succeeds on the other kind of input,
  a one-line ConfigError saying so instead of the framework's error."""
  shape = tuple(shape)
  try:
    model = build(shape)
  except ConfigError as error:
    probe = _probe(shape)
    if probe is not None and _builds(probe_build, probe):
      raise ConfigError(f"{who} needs {_kind(probe)}; {data} gives {describe(shape)}; "
                        f"{what_fits(shape)}") from None
    raise error
  check_declared_inputs(model, shape, who, data)
  return model
