"""Losses robust to noisy labels: symmetric cross-entropy and bootstrapping.

* `sce` (Wang et al. 2019): alpha CE + beta RCE, the reverse cross-entropy
  RCE = -sum_k p_k log y_k with log 0 taken as A, i.e. RCE = -A (1 - p_y). CIFAR-10:
  alpha 0.1, beta 1.0; CIFAR-100: alpha 6.0, beta 0.1. A (`log_zero`) defaults to the
  authors' code, which clips the one-hot label at 1e-4: A = log(1e-4) = -9.21; the paper
  writes A = -4 (`log_zero=-4.0`), which scales RCE by 4 / 9.21.
* `bootstrap` (Reed et al. 2015): cross-entropy against beta y + (1 - beta) q, q the
  model's own prediction: q = p ("soft", beta 0.95) or the one-hot of argmax p ("hard",
  beta 0.8). The soft form is, as the paper derives it, beta CE + (1 - beta) H(p), a
  minimum-entropy regulariser: the gradient flows through q. `detach_prediction=True`
  holds q constant instead (the same value, the gradient of a fixed soft target); the
  hard target has no gradient either way.
Both from logits, per example, for int class ids; -log p and 1 - p_y come from log-odds,
so they keep their precision for confident examples.
"""

from __future__ import annotations

import math
from typing import Any

import tensorflow as tf

from framework.losses import _common
from framework.losses.base import PerExampleLoss, register_loss

_BOOTSTRAP_BETA = {"soft": 0.95, "hard": 0.8}
CODE_LOG_ZERO = math.log(1e-4)  # the authors' code: log of the one-hot label clipped at 1e-4


def check_sce(alpha: Any, beta: Any, log_zero: Any) -> None:
  _common.check_scalar("alpha", alpha, lo=0.0)
  _common.check_scalar("beta", beta, lo=0.0)
  _common.check_scalar("log_zero", log_zero, hi=0.0, hi_open=True)


def symmetric_cross_entropy(labels: Any, logits: Any, *, alpha: float = 0.1, beta: float = 1.0,
                            log_zero: float = CODE_LOG_ZERO,
                            from_logits: bool = True) -> tf.Tensor:
  """alpha CE + beta (-log_zero) (1 - p_y) per example, for int class ids."""
  check_sce(alpha, beta, log_zero)
  z = _common.as_compute(logits)
  _common.require_softmax_classes(z)
  labels = _common.sparse_labels(labels, z)
  neg_log_p, log1m_p = _common.class_surprisal(z, from_logits)
  ce = tf.gather(neg_log_p, labels, batch_dims=labels.shape.rank)
  one_minus_p = tf.exp(tf.gather(log1m_p, labels, batch_dims=labels.shape.rank))
  return _common.to_dtype(alpha, z.dtype) * ce - _common.to_dtype(beta * log_zero,
                                                                     z.dtype) * one_minus_p


def bootstrap_beta(mode: str, beta: float | None) -> float:
  if mode not in _BOOTSTRAP_BETA:
    raise ValueError(f"mode={mode!r} must be 'soft' or 'hard'")
  beta = _BOOTSTRAP_BETA[mode] if beta is None else beta
  _common.check_scalar("beta", beta, 0.0, 1.0)
  return float(beta)


def bootstrap(labels: Any, logits: Any, *, mode: str = "soft", beta: float | None = None,
              detach_prediction: bool = False, from_logits: bool = True) -> tf.Tensor:
  """-sum_c (beta y_c + (1 - beta) q_c) log p_c per example, q = p (sg(p) when
  `detach_prediction`) or onehot(argmax p)."""
  beta = bootstrap_beta(mode, beta)
  z = _common.as_compute(logits)
  _common.require_softmax_classes(z)
  labels = _common.sparse_labels(labels, z)
  neg_log_p, _ = _common.class_surprisal(z, from_logits)
  probs = tf.exp(-neg_log_p)
  own = probs if mode == "soft" else tf.one_hot(tf.argmax(probs, -1), tf.shape(z)[-1],
                                                dtype=z.dtype)
  if detach_prediction or mode == "hard":
    own = tf.stop_gradient(own)
  target = beta * tf.one_hot(labels, tf.shape(z)[-1], dtype=z.dtype) + (1.0 - beta) * own
  return tf.reduce_sum(target * neg_log_p, axis=-1)


@register_loss("sce")
class SymmetricCrossEntropyLoss(PerExampleLoss):
  """alpha CE + beta RCE of class ids (Wang et al. 2019)."""
  fn = staticmethod(symmetric_cross_entropy)

  def __init__(self, alpha: float = 0.1, beta: float = 1.0, log_zero: float = CODE_LOG_ZERO,
               from_logits: bool = False, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    check_sce(alpha, beta, log_zero)
    super().__init__(alpha=alpha, beta=beta, log_zero=log_zero, from_logits=from_logits,
                     axis=axis, reduction=reduction, name=name, dtype=dtype)


@register_loss("bootstrap")
class BootstrapLoss(PerExampleLoss):
  """Cross-entropy against the label mixed with the model's own prediction (Reed et al.)."""
  fn = staticmethod(bootstrap)

  def __init__(self, mode: str = "soft", beta: float | None = None,
               detach_prediction: bool = False, from_logits: bool = False, axis: int = -1,
               reduction: str | None = "sum_over_batch_size", name: str | None = None,
               dtype: Any = None):
    bootstrap_beta(mode, beta)
    super().__init__(mode=mode, beta=beta, detach_prediction=detach_prediction,
                     from_logits=from_logits, axis=axis, reduction=reduction, name=name,
                     dtype=dtype)
