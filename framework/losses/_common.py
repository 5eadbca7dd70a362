"""Shared helpers of the loss functions: dtypes, targets, probabilities, validation.

Dtype policy of every loss in this package: float16 and bfloat16 inputs are computed
in float32 and the per-example loss is RETURNED IN FLOAT32 (casting back would overflow
float16 for large losses and lose the precision the stable forms buy); float64 stays
float64; float32 stays float32. Gradients flow back to the input in its own dtype.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

def compute_dtype(dtype: tf.DType) -> tf.DType:
  """float64 stays float64; everything else is computed in float32."""
  return tf.float64 if dtype == tf.float64 else tf.float32


def as_compute(x: Any) -> tf.Tensor:
  """Converts predictions to a float tensor in the compute dtype (see module doc)."""
  x = tf.convert_to_tensor(x)
  target = compute_dtype(x.dtype)
  return x if x.dtype == target else tf.cast(x, target)


def is_constant(x: Any) -> bool:
  """True when `x` has a value we may inspect now (not a Variable, not symbolic)."""
  if isinstance(x, tf.Variable):
    return False
  if isinstance(x, tf.Tensor):
    return tf.executing_eagerly()
  return True


def num_classes_of(logits: tf.Tensor, name: str = "y_pred") -> int | None:
  """Static size of the class axis, or None when unknown."""
  if logits.shape.rank is not None and logits.shape.rank < 1:
    raise ValueError(f"{name} must have a class axis; got shape {logits.shape}")
  return logits.shape[-1] if logits.shape.rank else None


def require_softmax_classes(logits: tf.Tensor) -> None:
  c = num_classes_of(logits)
  if c is not None and c < 2:
    raise ValueError(f"softmax losses need >= 2 classes on the last axis of y_pred; "
                     f"got shape {logits.shape}")


def sparse_labels(labels: Any, logits: tf.Tensor) -> tf.Tensor:
  """int32 class ids shaped like logits[..., 0]; checked against [0, C) when eager.

  Accepts a trailing axis of size 1 (as Keras does) and float ids (Keras casts y_true
  to the loss dtype).
  """
  labels = tf.convert_to_tensor(labels)
  if labels.shape.rank is not None and logits.shape.rank is not None:
    if labels.shape.rank == logits.shape.rank and labels.shape[-1] == 1:
      labels = tf.squeeze(labels, -1)
    if not labels.shape.is_compatible_with(logits.shape[:-1]):
      raise ValueError(f"labels shape {labels.shape} does not match y_pred shape "
                       f"{logits.shape} (expected labels of shape {logits.shape[:-1]})")
  if labels.dtype != tf.int32:
    labels = tf.cast(labels, tf.int32)
  c = num_classes_of(logits)
  if c is not None and is_constant(labels) and tf.size(labels) > 0:
    lo, hi = int(tf.reduce_min(labels)), int(tf.reduce_max(labels))
    if lo < 0 or hi >= c:
      bad = lo if lo < 0 else hi
      raise ValueError(f"labels contain {bad}, outside the allowed range [0, {c})")
  return labels


def dense_targets(y_true: Any, y_pred: tf.Tensor) -> tf.Tensor:
  """Targets shaped like y_pred, in its dtype, without gradient."""
  y_true = to_dtype(y_true, y_pred.dtype)
  if not y_true.shape.is_compatible_with(y_pred.shape):
    raise ValueError(f"y_true shape {y_true.shape} does not match y_pred shape "
                     f"{y_pred.shape}")
  return tf.stop_gradient(y_true)


def _eps(dtype: tf.DType) -> tf.Tensor:
  return tf.constant(keras.config.epsilon(), dtype)


def clipped_probs(probs: tf.Tensor) -> tf.Tensor:
  """Probabilities renormalised over the last axis and clipped to [eps, 1 - eps].

  The clip (Keras's, eps = keras.config.epsilon()) is a bound, not an offset: a true
  class of probability 0 has infinite loss, so a finite answer must cap it. Prefer
  logits.
  """
  eps = _eps(probs.dtype)
  probs = probs / tf.reduce_sum(probs, axis=-1, keepdims=True)
  return tf.clip_by_value(probs, eps, 1.0 - eps)


def log_probs_from_probs(probs: tf.Tensor) -> tf.Tensor:
  """log of `clipped_probs(probs)`."""
  return tf.math.log(clipped_probs(probs))


def logits_from_probs(probs: tf.Tensor) -> tf.Tensor:
  """Sigmoid logits of probabilities clipped to [eps, 1-eps] (see above)."""
  eps = _eps(probs.dtype)
  probs = tf.clip_by_value(probs, eps, 1.0 - eps)
  return tf.math.log(probs) - tf.math.log1p(-probs)


def check_scalar(name: str, value: Any, lo: float | None = None, hi: float | None = None,
                 hi_open: bool = False, lo_open: bool = False) -> None:
  """Raises ValueError naming the parameter, its value and the allowed range."""
  if not is_constant(value):
    return
  arr = np.asarray(value, dtype=np.float64)
  if arr.shape != ():
    raise ValueError(f"{name}={value!r} must be a scalar")
  v = float(arr)
  lo_s = "(" if lo_open else "["
  hi_s = ")" if hi_open else "]"
  rng = f"{lo_s}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{hi_s}"
  ok = math.isfinite(v)
  if lo is not None:
    ok = ok and (v > lo if lo_open else v >= lo)
  if hi is not None:
    ok = ok and (v < hi if hi_open else v <= hi)
  if not ok:
    raise ValueError(f"{name}={v!r} must be finite and in {rng}")


def check_vector(name: str, value: Any, num_classes: int | None,
                 lo: float = 0.0) -> None:
  """Checks a per-class vector (scalar allowed): length C, finite, >= lo."""
  if isinstance(value, (tf.Tensor, tf.Variable)):
    shape = value.shape
    if shape.rank == 1 and num_classes is not None and shape[0] not in (None, num_classes):
      raise ValueError(f"{name} has length {shape[0]}; it must be a scalar or have "
                       f"one entry per class ({num_classes})")
    if shape.rank is not None and shape.rank > 1:
      raise ValueError(f"{name} must be a scalar or a vector; got shape {shape}")
    if not is_constant(value):
      return
  arr = np.asarray(value, dtype=np.float64)
  if arr.ndim > 1:
    raise ValueError(f"{name} must be a scalar or a vector; got shape {arr.shape}")
  if arr.ndim == 1 and num_classes is not None and arr.shape[0] != num_classes:
    raise ValueError(f"{name}={arr.tolist()} has length {arr.shape[0]}; it must be a "
                     f"scalar or have one entry per class ({num_classes})")
  if not np.all(np.isfinite(arr)) or np.any(arr < lo):
    raise ValueError(f"{name}={arr.tolist()} must be finite and >= {lo}")


def to_dtype(value: Any, dtype: tf.DType) -> tf.Tensor:
  """`value` as a tensor of `dtype`; Python / NumPy values go through float64 so that
  0.8 in a float64 loss is 0.8, not float32(0.8). Tensors and Variables stay live."""
  if isinstance(value, (tf.Tensor, tf.Variable)):
    return tf.cast(value, dtype)
  return tf.cast(tf.convert_to_tensor(np.asarray(value, dtype=np.float64)), dtype)


def per_class(value: Any, dtype: tf.DType) -> tf.Tensor:
  """A scalar or [C] per-class factor as a tensor of `dtype` (Variables stay live)."""
  return to_dtype(value, dtype)


def apply_class_weights(loss: tf.Tensor, targets: tf.Tensor, class_weights: Any,
                        sparse: bool) -> tf.Tensor:
  """Multiplies each example's loss by the weight of its class (w[y], or sum_c y_c w_c)."""
  if class_weights is None:
    return loss
  w = per_class(class_weights, loss.dtype)
  if w.shape.rank == 0:
    return loss * w
  if sparse:
    return loss * tf.gather(w, targets)
  return loss * tf.reduce_sum(tf.cast(targets, loss.dtype) * w, axis=-1)


def target_log_odds(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
  """d = log(p_t / (1 - p_t)) with p_t = sum_c y_c p_c, from logits without cancellation.

  d = logsumexp(z + log y) - logsumexp(z + log(1 - y)); for one-hot y that is
  z_t - logsumexp_{c != t} z_c. Then -log p_t = softplus(-d), log(1 - p_t) = -softplus(d),
  both accurate to relative precision even when p_t is within rounding of 0 or 1.
  """
  y = tf.clip_by_value(tf.stop_gradient(y), 0.0, 1.0)
  target = tf.reduce_logsumexp(logits + tf.math.log(y), axis=-1)
  rest = tf.reduce_logsumexp(logits + tf.math.log1p(-y), axis=-1)
  return target - rest


def class_log_odds(logits: tf.Tensor) -> tf.Tensor:
  """d_c = log(p_c / (1 - p_c)) for every class c [..., C], in O(C), without cancellation.

  d_c = z_c - logsumexp_{k != c} z_k. For the top class that sum is taken directly; for
  the others logsumexp_{k != c} = logsumexp(z) + log1p(-p_c), accurate because their
  p_c <= 1/2. Then -log p_c = softplus(-d_c) and log(1 - p_c) = -softplus(d_c).
  """
  is_top = tf.one_hot(tf.argmax(logits, axis=-1), tf.shape(logits)[-1], on_value=True,
                      off_value=False)
  lse = tf.reduce_logsumexp(logits, axis=-1, keepdims=True)
  rest_of_top = tf.reduce_logsumexp(
      tf.where(is_top, tf.constant(-np.inf, logits.dtype), logits), axis=-1, keepdims=True)
  p_rest = tf.where(is_top, tf.zeros_like(logits), tf.exp(logits - lse))  # never 1: no NaN grad
  return logits - tf.where(is_top, rest_of_top, lse + tf.math.log1p(-p_rest))


def class_surprisal(logits: tf.Tensor, from_logits: bool) -> tuple[tf.Tensor, tf.Tensor]:
  """(-log p_c, log(1 - p_c)) for every class c [..., C].

  From logits both come from the log-odds (softplus(-d_c), -softplus(d_c)); from
  probabilities, renormalised and clipped to [eps, 1 - eps] (see clipped_probs).
  """
  if from_logits:
    d = class_log_odds(logits)
    return tf.math.softplus(-d), -tf.math.softplus(d)
  p = clipped_probs(logits)
  return -tf.math.log(p), tf.math.log1p(-p)


def sigmoid_inputs(targets: Any, logits: Any, label_smoothing: float,
                   from_logits: bool) -> tuple[tf.Tensor, tf.Tensor]:
  """(targets, logits) of independent sigmoid outputs: targets squeezed toward 0.5 by
  label smoothing (y (1 - ls) + ls / 2, as Keras), probabilities turned into logits."""
  x = as_compute(logits)
  y = dense_targets(targets, x)
  if label_smoothing:
    y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing
  return y, (x if from_logits else logits_from_probs(x))


def check_label_smoothing(label_smoothing: Any) -> None:
  check_scalar("label_smoothing", label_smoothing, 0.0, 1.0)


def smooth_one_hot(y: tf.Tensor, label_smoothing: float) -> tf.Tensor:
  """Keras's categorical smoothing: y (1 - ls) + ls / C."""
  if not label_smoothing:
    return y
  c = tf.cast(tf.shape(y)[-1], y.dtype)
  return y * (1.0 - label_smoothing) + label_smoothing / c


def counts_array(class_counts: Any, name: str = "class_counts",
                 positive: bool = True) -> np.ndarray:
  """Validated 1-D float64 counts; `positive` forbids zero counts."""
  counts = np.asarray(class_counts, dtype=np.float64)
  if counts.ndim != 1 or counts.size == 0:
    raise ValueError(f"{name} must be a non-empty 1-D sequence; got shape {counts.shape}")
  if not np.all(np.isfinite(counts)) or np.any(counts < 0):
    raise ValueError(f"{name}={counts.tolist()} must be finite and >= 0")
  if positive and np.any(counts == 0):
    c = int(np.argmin(counts))
    raise ValueError(f"{name}[{c}]=0; this scheme needs every count > 0 "
                     f"(got {counts.astype(np.int64).tolist()})")
  return counts


def check_classes_match(name: str, size: int, logits: tf.Tensor) -> None:
  c = num_classes_of(logits)
  if c is not None and c != size:
    raise ValueError(f"{name} has {size} entries but y_pred has {c} classes")
