"""The losses as serialisable `keras.losses.Loss` subclasses, for `model.compile`/`fit`.

Each writes only `call()` (the per-example function) and `get_config()`; Keras does the
sample weighting and the reduction. Predictions are logits unless `from_logits=False`.
Keras converts y_pred to the loss dtype (float32 by default) before `call()`; pass
`dtype="float64"` to compute in float64. Registered as "framework>ClassName".
"""

from __future__ import annotations

from typing import Any, Sequence

import keras
import numpy as np
import tensorflow as tf

from framework.losses import _common, cross_entropy, focal, margin, weighted
from framework.losses.class_weights import check_weights

_register = keras.saving.register_keras_serializable(package="framework")
_REDUCTION = "sum_over_batch_size"


def _plain(value: Any) -> Any:
  """A JSON-friendly copy of a parameter (a learnable alpha is saved by value)."""
  if isinstance(value, (tf.Variable, tf.Tensor)):
    value = value.numpy()
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, np.generic):
    return value.item()
  return value


def _weights_or_none(class_weights: Any) -> Any:
  return None if class_weights is None else check_weights(class_weights)


class _FrameworkLoss(keras.losses.Loss):
  """call() = fn(y_true, y_pred, **params); get_config() = base config + params."""

  fn = None  # a staticmethod in subclasses

  def __init__(self, params: dict[str, Any], name: str, reduction: str | None,
               dtype: Any):
    super().__init__(name=name, reduction=reduction, dtype=dtype)
    self._params = params

  def call(self, y_true, y_pred):
    return type(self).fn(y_true, y_pred, **self._params)

  def get_config(self) -> dict[str, Any]:
    config = super().get_config()
    config["dtype"] = self._dtype_policy.name
    config.update({k: _plain(v) for k, v in self._params.items()})
    return config


@_register
class SparseCrossEntropyLoss(_FrameworkLoss):
  """Softmax CE of int labels; `class_weights` [C] weight each example by w[y]."""
  fn = staticmethod(cross_entropy.sparse_cross_entropy)

  def __init__(self, from_logits: bool = True, label_smoothing: float = 0.0,
               class_weights: Sequence[float] | None = None,
               reduction: str | None = _REDUCTION, name: str = "sparse_cross_entropy",
               dtype: Any = None):
    _common.check_scalar("label_smoothing", label_smoothing, 0.0, 1.0)
    super().__init__(dict(from_logits=from_logits, label_smoothing=label_smoothing,
                          class_weights=_weights_or_none(class_weights)),
                     name, reduction, dtype)


@_register
class CategoricalCrossEntropyLoss(_FrameworkLoss):
  """Softmax CE of one-hot / probability targets, with smoothing and class weights."""
  fn = staticmethod(cross_entropy.categorical_cross_entropy)

  def __init__(self, from_logits: bool = True, label_smoothing: float = 0.0,
               class_weights: Sequence[float] | None = None,
               reduction: str | None = _REDUCTION,
               name: str = "categorical_cross_entropy", dtype: Any = None):
    _common.check_scalar("label_smoothing", label_smoothing, 0.0, 1.0)
    super().__init__(dict(from_logits=from_logits, label_smoothing=label_smoothing,
                          class_weights=_weights_or_none(class_weights)),
                     name, reduction, dtype)


@_register
class WeightedCrossEntropyLoss(_FrameworkLoss):
  """tf.nn.weighted_cross_entropy_with_logits semantics: pos_weight weights the
  positives of independent sigmoid outputs; it is not a per-class softmax weight."""
  fn = staticmethod(weighted.weighted_cross_entropy)

  def __init__(self, pos_weight: float | Sequence[float] = 1.0, from_logits: bool = True,
               reduction: str | None = _REDUCTION,
               name: str = "weighted_cross_entropy", dtype: Any = None):
    if isinstance(pos_weight, (list, tuple)):
      pos_weight = np.asarray(pos_weight, np.float64)
    _common.check_vector("pos_weight", pos_weight, None)
    super().__init__(dict(pos_weight=pos_weight, from_logits=from_logits),
                     name, reduction, dtype)


@_register
class BinaryFocalLoss(_FrameworkLoss):
  """Sigmoid focal loss, Keras 3 semantics (alpha only with apply_class_balancing)."""
  fn = staticmethod(focal.binary_focal)

  def __init__(self, gamma: float = 2.0, alpha: float = 0.25,
               apply_class_balancing: bool = False, label_smoothing: float = 0.0,
               from_logits: bool = True, reduction: str | None = _REDUCTION,
               name: str = "binary_focal", dtype: Any = None):
    focal.check_gamma(gamma)
    _common.check_scalar("alpha", alpha, 0.0, 1.0)
    _common.check_scalar("label_smoothing", label_smoothing, 0.0, 1.0)
    super().__init__(dict(gamma=gamma, alpha=alpha,
                          apply_class_balancing=apply_class_balancing,
                          label_smoothing=label_smoothing, from_logits=from_logits),
                     name, reduction, dtype)


def _alpha(alpha: Any) -> Any:
  if isinstance(alpha, (list, tuple)):
    alpha = np.asarray(alpha, np.float64)
  _common.check_vector("alpha", alpha, None)
  return alpha


@_register
class CategoricalFocalLoss(_FrameworkLoss):
  """Softmax focal loss of one-hot targets; alpha scalar or [C] (Tensor/Variable ok)."""
  fn = staticmethod(focal.categorical_focal)

  def __init__(self, gamma: float = 2.0, alpha: Any = 1.0, from_logits: bool = True,
               reduction: str | None = _REDUCTION, name: str = "categorical_focal",
               dtype: Any = None):
    focal.check_gamma(gamma)
    super().__init__(dict(gamma=gamma, alpha=_alpha(alpha), from_logits=from_logits),
                     name, reduction, dtype)


@_register
class SparseFocalLoss(_FrameworkLoss):
  """Softmax focal loss of int labels; alpha scalar or [C] (Tensor/Variable ok)."""
  fn = staticmethod(focal.sparse_focal)

  def __init__(self, gamma: float = 2.0, alpha: Any = 1.0, from_logits: bool = True,
               reduction: str | None = _REDUCTION, name: str = "sparse_focal",
               dtype: Any = None):
    focal.check_gamma(gamma)
    super().__init__(dict(gamma=gamma, alpha=_alpha(alpha), from_logits=from_logits),
                     name, reduction, dtype)


@_register
class LDAMLoss(_FrameworkLoss):
  """LDAM on COSINE logits of a normalised classifier head; int labels."""
  fn = staticmethod(margin.ldam)

  def __init__(self, class_counts: Sequence[int], max_margin: float = 0.5,
               scale: float = 30.0, class_weights: Sequence[float] | None = None,
               reduction: str | None = _REDUCTION, name: str = "ldam",
               dtype: Any = None):
    margin.ldam_margins(class_counts, max_margin)
    _common.check_scalar("scale", scale, lo=0.0, lo_open=True)
    super().__init__(dict(class_counts=_common.counts_array(class_counts),
                          max_margin=max_margin, scale=scale,
                          class_weights=_weights_or_none(class_weights)),
                     name, reduction, dtype)


@_register
class LogitAdjustedLoss(_FrameworkLoss):
  """CE(z + tau log pi) of int labels."""
  fn = staticmethod(margin.logit_adjusted)

  def __init__(self, class_counts: Sequence[int], tau: float = 1.0,
               class_weights: Sequence[float] | None = None,
               reduction: str | None = _REDUCTION, name: str = "logit_adjusted",
               dtype: Any = None):
    margin.log_prior(class_counts)
    _common.check_scalar("tau", tau, lo=0.0)
    super().__init__(dict(class_counts=_common.counts_array(class_counts), tau=tau,
                          class_weights=_weights_or_none(class_weights)),
                     name, reduction, dtype)


@_register
class BalancedSoftmaxLoss(_FrameworkLoss):
  """CE(z + log n) of int labels."""
  fn = staticmethod(margin.balanced_softmax)

  def __init__(self, class_counts: Sequence[int],
               class_weights: Sequence[float] | None = None,
               reduction: str | None = _REDUCTION, name: str = "balanced_softmax",
               dtype: Any = None):
    super().__init__(dict(class_counts=_common.counts_array(class_counts),
                          class_weights=_weights_or_none(class_weights)),
                     name, reduction, dtype)
