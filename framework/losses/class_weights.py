"""Per-class weight schemes from class counts, and their registry `CLASS_WEIGHTS`.

Each scheme returns an np.ndarray [C] of float64 weights, w[y] multiplying an example's
loss (the same numbers Keras's `fit(class_weight=...)` takes as a dict).

  none               w_c = 1
  inverse_frequency  w_c = N / (C n_c)            (normalize=True: rescaled to sum C)
  inverse_sqrt       w_c ∝ n_c^(-1/2)             rescaled to sum C
  inverse_square     w_c ∝ n_c^(-2)               rescaled to sum C
  effective_number   w_c ∝ (1 - beta) / (1 - beta^n_c), beta in [0, 1)  (Cui et al. 2019),
                     rescaled to sum C; beta = 0 is uniform, beta -> 1 inverse frequency
  custom             a list [C] or a dict {class: weight} (unlisted classes get 1)

`ClassWeighting` switches a scheme on at a start epoch (deferred re-weighting, DRW, Cao
et al.); `build_class_weighting(cfg, class_counts)` builds it from `config.class_weights`
(a run passes its start epoch resolved by framework.train.schedule).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from framework.errors import ConfigError
from framework.losses import _common
from framework.config.registry import Registry

CLASS_WEIGHTS: Registry[np.ndarray] = Registry("class weighting scheme")


def _sum_to_c(w: np.ndarray) -> np.ndarray:
  return w * (w.shape[0] / w.sum())


def check_weights(weights: Any, name: str = "class_weights") -> np.ndarray:
  """A validated float64 [C] weight vector: finite and >= 0."""
  w = np.asarray(weights, dtype=np.float64)
  if w.ndim != 1 or w.size == 0:
    raise ValueError(f"{name} must be a non-empty 1-D sequence; got shape {w.shape}")
  bad = ~np.isfinite(w) | (w < 0)
  if np.any(bad):
    c = int(np.argmax(bad))
    raise ValueError(f"{name}[{c}]={float(w[c])!r} must be finite and >= 0")
  return w


@CLASS_WEIGHTS.register("none")
def uniform(class_counts: Any) -> np.ndarray:
  """All ones (zero counts allowed)."""
  return np.ones_like(_common.counts_array(class_counts, positive=False))


@CLASS_WEIGHTS.register("inverse_frequency")
def inverse_frequency(class_counts: Any, normalize: bool = False) -> np.ndarray:
  """N / (C n_c); the mean over the training examples of w[y] is 1."""
  n = _common.counts_array(class_counts)
  w = n.sum() / (n.shape[0] * n)
  return _sum_to_c(w) if normalize else w


@CLASS_WEIGHTS.register("inverse_sqrt")
def inverse_sqrt(class_counts: Any) -> np.ndarray:
  """n_c^(-1/2), rescaled so that sum_c w_c = C."""
  return _sum_to_c(_common.counts_array(class_counts) ** -0.5)


@CLASS_WEIGHTS.register("inverse_square")
def inverse_square(class_counts: Any) -> np.ndarray:
  """n_c^(-2), rescaled so that sum_c w_c = C."""
  return _sum_to_c(_common.counts_array(class_counts) ** -2.0)


@CLASS_WEIGHTS.register("effective_number")
def effective_number(class_counts: Any, beta: float = 0.9999) -> np.ndarray:
  """Class-balanced weights (1 - beta) / (1 - beta^n_c), rescaled to sum C."""
  beta_arr = np.asarray(beta, dtype=np.float64)
  if beta_arr.shape != () or not (0.0 <= float(beta_arr) < 1.0):
    raise ValueError(f"beta={beta!r} must be in [0, 1)")
  n = _common.counts_array(class_counts)
  beta = float(beta_arr)
  if beta == 0.0:
    return np.ones_like(n)
  # 1 - beta^n = -expm1(n log(beta)), accurate for beta close to 1.
  effective = -np.expm1(n * np.log(beta)) / (1.0 - beta)
  return _sum_to_c(1.0 / effective)


@CLASS_WEIGHTS.register("custom")
def custom(weights: Sequence[float] | Mapping[Any, float],
           class_counts: Any = None, num_classes: int | None = None) -> np.ndarray:
  """Given weights: a list of C values or a dict {class id: weight} (others get 1)."""
  if class_counts is not None:
    num_classes = len(np.asarray(class_counts))
  if isinstance(weights, Mapping):
    if num_classes is None:
      raise ValueError("weights given as a dict need num_classes or class_counts")
    w = np.ones(num_classes, dtype=np.float64)
    for key, value in weights.items():
      try:
        c = int(key)
      except (TypeError, ValueError):
        raise ValueError(f"weights key {key!r} is not a class id in [0, {num_classes})") \
            from None
      if not 0 <= c < num_classes:
        raise ValueError(f"weights key {key!r} is not a class id in [0, {num_classes})")
      w[c] = value
    return check_weights(w, "weights")
  w = check_weights(weights, "weights")
  if num_classes is not None and w.shape[0] != num_classes:
    raise ValueError(f"weights={w.tolist()} has length {w.shape[0]}; expected one per "
                     f"class ({num_classes})")
  return w


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


def build_class_weighting(cfg: Any, class_counts: Any, field: str = "class_weights",
                          start_epoch: int | None = None) -> ClassWeighting:
  """Builds the configured scheme from the training class counts.

  cfg: ConfigDict, dict or any object with `scheme` (default "none"), `kwargs`
  (default {}) and `start_epoch` (default 0). `start_epoch`, when given, is the run's
  resolved epoch (framework.train.schedule) in place of cfg's, which may be a fraction of
  the run. Errors are ConfigErrors naming `field`.<entry>.
  """
  scheme = _field(cfg, "scheme", "none")
  kwargs = _field(cfg, "kwargs", {}) or {}
  kwargs = dict(kwargs.to_dict() if hasattr(kwargs, "to_dict") else kwargs)
  if start_epoch is None:
    start_epoch = _field(cfg, "start_epoch", 0)
  if isinstance(start_epoch, bool) or not isinstance(start_epoch, (int, np.integer)) \
      or start_epoch < 0:
    raise ConfigError(f"{field}.start_epoch={start_epoch!r} must be an integer >= 0")
  counts = np.asarray(class_counts)
  CLASS_WEIGHTS.get(scheme, f"{field}.scheme")
  weights = CLASS_WEIGHTS.build(scheme, kwargs, field=field,
                                context={"class_counts": counts,
                                         "num_classes": counts.shape[0]})
  return ClassWeighting(weights=weights, start_epoch=int(start_epoch), scheme=scheme)
