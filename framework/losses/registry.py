"""`LOSSES`: trainer-facing loss factories, chosen by `config.loss.name` + kwargs.

`LOSSES.build(name, kwargs, field="loss", context={"class_counts": counts,
"num_classes": C})` returns `loss(labels int32 [B], logits [B, C]) -> float32 [B]`, per
example and unreduced: the trainer multiplies by its per-example weights and reduces.
Sigmoid losses (weighted_cross_entropy, binary_focal) treat labels as one-hot targets
over the C outputs. Parameters are checked when the loss is built.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from framework.losses import _common, cross_entropy, focal, margin, weighted
from framework.registry import Registry


@dataclasses.dataclass(frozen=True, eq=False)
class PerExampleLoss:
  """A built loss: `(labels, logits) -> float32 [B]`, with its name and parameters."""
  name: str
  fn: Callable[..., tf.Tensor]
  kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  one_hot: bool = False

  def __call__(self, labels: Any, logits: Any) -> tf.Tensor:
    if self.one_hot:
      logits = tf.convert_to_tensor(logits)
      labels = _common.sparse_labels(labels, logits)
      labels = tf.one_hot(labels, tf.shape(logits)[-1], dtype=logits.dtype)
    return tf.cast(self.fn(labels, logits, **self.kwargs), tf.float32)

  def __repr__(self) -> str:
    args = ", ".join(f"{k}={v.tolist() if isinstance(v, np.ndarray) else v!r}"
                     for k, v in self.kwargs.items())
    return f"PerExampleLoss({self.name}: {args})"


LOSSES: Registry[PerExampleLoss] = Registry("loss")


def _vector_or_scalar(value: Any) -> Any:
  if isinstance(value, (list, tuple)):
    return np.asarray(value, dtype=np.float64)
  return value


@LOSSES.register("cross_entropy")
def cross_entropy_loss(label_smoothing: float = 0.0) -> PerExampleLoss:
  """Softmax cross-entropy with optional label smoothing."""
  _common.check_scalar("label_smoothing", label_smoothing, 0.0, 1.0)
  return PerExampleLoss("cross_entropy", cross_entropy.sparse_cross_entropy,
                        {"label_smoothing": float(label_smoothing)})


@LOSSES.register("weighted_cross_entropy")
def weighted_cross_entropy_loss(pos_weight: float | Sequence[float] = 1.0,
                                num_classes: int | None = None) -> PerExampleLoss:
  """Sigmoid CE over one-hot targets; pos_weight weights positives (not classes)."""
  pos_weight = _vector_or_scalar(pos_weight)
  _common.check_vector("pos_weight", pos_weight, num_classes)
  return PerExampleLoss("weighted_cross_entropy", weighted.weighted_cross_entropy,
                        {"pos_weight": pos_weight}, one_hot=True)


@LOSSES.register("binary_focal")
def binary_focal_loss(gamma: float = 2.0, alpha: float = 0.25,
                      apply_class_balancing: bool = False) -> PerExampleLoss:
  """Sigmoid focal loss over one-hot targets (Keras 3 semantics for alpha)."""
  focal.check_gamma(gamma)
  _common.check_scalar("alpha", alpha, 0.0, 1.0)
  return PerExampleLoss("binary_focal", focal.binary_focal,
                        {"gamma": float(gamma), "alpha": float(alpha),
                         "apply_class_balancing": bool(apply_class_balancing)},
                        one_hot=True)


@LOSSES.register("focal")
def focal_loss(gamma: float = 2.0, alpha: float | Sequence[float] = 1.0,
               num_classes: int | None = None) -> PerExampleLoss:
  """Softmax focal loss of class ids; alpha scalar or one value per class."""
  focal.check_gamma(gamma)
  alpha = _vector_or_scalar(alpha)
  _common.check_vector("alpha", alpha, num_classes)
  return PerExampleLoss("focal", focal.sparse_focal,
                        {"gamma": float(gamma), "alpha": alpha})


def _counts(class_counts: Any, num_classes: int | None) -> np.ndarray:
  if class_counts is None:
    raise ValueError("class_counts=None; this loss needs the training class counts")
  counts = _common.counts_array(class_counts)
  if num_classes is not None and counts.shape[0] != num_classes:
    raise ValueError(f"class_counts has {counts.shape[0]} entries; expected "
                     f"num_classes={num_classes}")
  return counts


@LOSSES.register("ldam")
def ldam_loss(class_counts: Any = None, max_margin: float = 0.5, scale: float = 30.0,
              num_classes: int | None = None) -> PerExampleLoss:
  """LDAM on cosine logits (needs a normalised classifier head)."""
  counts = _counts(class_counts, num_classes)
  margin.ldam_margins(counts, max_margin)
  _common.check_scalar("scale", scale, lo=0.0, lo_open=True)
  return PerExampleLoss("ldam", margin.ldam,
                        {"class_counts": counts, "max_margin": float(max_margin),
                         "scale": float(scale)})


@LOSSES.register("logit_adjusted")
def logit_adjusted_loss(class_counts: Any = None, tau: float = 1.0,
                        num_classes: int | None = None) -> PerExampleLoss:
  """CE(z + tau log pi)."""
  counts = _counts(class_counts, num_classes)
  _common.check_scalar("tau", tau, lo=0.0)
  return PerExampleLoss("logit_adjusted", margin.logit_adjusted,
                        {"class_counts": counts, "tau": float(tau)})


@LOSSES.register("balanced_softmax")
def balanced_softmax_loss(class_counts: Any = None,
                          num_classes: int | None = None) -> PerExampleLoss:
  """CE(z + log n)."""
  counts = _counts(class_counts, num_classes)
  return PerExampleLoss("balanced_softmax", margin.balanced_softmax,
                        {"class_counts": counts})
