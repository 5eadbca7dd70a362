"""Any `keras.applications` backbone by name, without its top, under our pooling and head.

  model.name = "keras_app"; model.kwargs = {"name": "ResNet50", "weights": None}

`weights="imagenet"` downloads the ImageNet weights (needs the network and 3 channels;
the backbone then expects its own preprocessing, see `keras.applications.<family>`; set
data.mean / data.std to match). Extra kwargs (e.g. MobileNetV2's `alpha`) go to the
application.
"""

from __future__ import annotations

from typing import Sequence

import keras

from framework.errors import one_line
from framework.models.heads import check_head, head_layer
from framework.models.registry import MODELS

_OURS = ("include_top", "input_tensor", "input_shape", "pooling", "classes",
         "classifier_activation")
_EXAMPLES = ("ResNet50", "MobileNetV2", "EfficientNetB0", "ConvNeXtTiny", "DenseNet121")
_POOLING = {"avg": keras.layers.GlobalAveragePooling2D, "max": keras.layers.GlobalMaxPooling2D}


def application_names() -> list[str]:
  """The model constructors keras.applications exports (ResNet50, MobileNetV2, ...)."""
  return sorted(n for n in dir(keras.applications)
                if n[:1].isupper() and callable(getattr(keras.applications, n)))


def _backbone(name: str, weights, input_shape: tuple, kwargs: dict) -> keras.Model:
  try:
    return getattr(keras.applications, name)(include_top=False, weights=weights,
                                             input_shape=input_shape, **kwargs)
  except (ValueError, TypeError) as e:
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    raise type(e)(f"keras.applications.{name}(input_shape={input_shape}, weights={weights!r}"
                  f"{extra}): {one_line(e)}") from None
  except Exception as e:  # pylint: disable=broad-except
    if weights is None:
      raise
    # Keras raises a bare Exception when the weights' download fails.
    raise ValueError(f"weights={weights!r} for keras.applications.{name} could not be loaded "
                     f"({one_line(e)}); use weights=None offline, or a local weights file"
                     ) from None


@MODELS.register("keras_app")
def keras_app(input_shape: Sequence[int], num_classes: int, name: str = "ResNet50",
              weights: str | None = None, pooling: str = "avg", head: str = "linear",
              **app_kwargs) -> keras.Model:
  """keras.applications.`name`(include_top=False, weights=`weights`), global `pooling`,
  and our head."""
  valid = application_names()
  if name not in valid:
    examples = [n for n in _EXAMPLES if n in valid] or valid[:5]
    raise ValueError(f"name={name!r} is not a keras.applications model; valid names "
                     f"include {', '.join(examples)} ({len(valid)} in all)")
  if pooling not in _POOLING:
    raise ValueError(f"pooling={pooling!r} must be 'avg' or 'max'")
  taken = [k for k in app_kwargs if k in _OURS]
  if taken:
    raise ValueError(f"{taken[0]} is set by keras_app itself; not a kwarg to pass")
  check_head(head)
  input_shape = tuple(input_shape)
  if len(input_shape) != 3:
    raise ValueError(f"input_shape={input_shape} must be (height, width, channels) images")
  backbone = _backbone(name, weights, input_shape, app_kwargs)
  if any(n is not None and n < 1 for n in backbone.output.shape[1:3]):
    raise ValueError(f"input_shape={input_shape} is too small for keras.applications.{name}: "
                     f"its features shrink to {tuple(backbone.output.shape[1:])}")
  inputs = keras.Input(input_shape, name="image")
  x = _POOLING[pooling](name="pool")(backbone(inputs))
  return keras.Model(inputs, head_layer(num_classes, head)(x), name=f"keras_app_{name}")
