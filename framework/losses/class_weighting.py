"""Class weights with an optional start epoch: deferred re-weighting (DRW, Cao et al.).

`build_class_weighting(cfg, class_counts)` reads `cfg.scheme`, `cfg.kwargs` and
`cfg.start_epoch` and returns a `ClassWeighting`, whose call gives the weights for an
epoch inside a `tf.function`: ones before `start_epoch`, the scheme's weights from it on.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import tensorflow as tf

from framework.errors import ConfigError
from framework.losses.class_weights import CLASS_WEIGHTS, check_weights


@dataclasses.dataclass(frozen=True, eq=False)
class ClassWeighting:
  """Per-class weights [C] switched on at `start_epoch` (0 = from the start)."""
  weights: np.ndarray
  start_epoch: int = 0
  scheme: str = "custom"

  def __post_init__(self):
    w = check_weights(self.weights, "weights").copy()
    w.setflags(write=False)
    object.__setattr__(self, "weights", w)
    if isinstance(self.start_epoch, bool) or not isinstance(
        self.start_epoch, (int, np.integer)) or self.start_epoch < 0:
      raise ValueError(f"start_epoch={self.start_epoch!r} must be an integer >= 0")

  @property
  def num_classes(self) -> int:
    return self.weights.shape[0]

  def __call__(self, epoch: Any) -> tf.Tensor:
    """tf.float32 [C]: ones while epoch < start_epoch, else the weights. Traceable."""
    w = tf.constant(self.weights, tf.float32)
    if self.start_epoch == 0:
      return w
    epoch = tf.cast(epoch, tf.float32)
    return tf.where(epoch >= float(self.start_epoch), w, tf.ones_like(w))


def _field(cfg: Any, name: str, default: Any) -> Any:
  if cfg is None:
    return default
  if isinstance(cfg, dict):
    return cfg.get(name, default)
  value = getattr(cfg, name, default)
  return default if value is None and default is not None else value


def build_class_weighting(cfg: Any, class_counts: Any,
                          field: str = "class_weights") -> ClassWeighting:
  """Builds the configured scheme from the training class counts.

  cfg: ConfigDict, dict or any object with `scheme` (default "none"), `kwargs`
  (default {}) and `start_epoch` (default 0). Errors are ConfigErrors naming
  `field`.<entry>.
  """
  scheme = _field(cfg, "scheme", "none")
  kwargs = _field(cfg, "kwargs", {}) or {}
  kwargs = dict(kwargs.to_dict() if hasattr(kwargs, "to_dict") else kwargs)
  start_epoch = _field(cfg, "start_epoch", 0)
  if isinstance(start_epoch, bool) or not isinstance(start_epoch, (int, np.integer)) \
      or start_epoch < 0:
    raise ConfigError(f"{field}.start_epoch={start_epoch!r} must be an integer >= 0")
  counts = np.asarray(class_counts)
  weights = CLASS_WEIGHTS.build(scheme, kwargs, field=field,
                                context={"class_counts": counts,
                                         "num_classes": counts.shape[0]})
  return ClassWeighting(weights=weights, start_epoch=int(start_epoch), scheme=scheme)
