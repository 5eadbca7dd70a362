"""Decoupled training for long tails (Kang et al. 2020): classifier re-training and tau-norm.

* cRT: `model.init_from=WORKDIR` starts from a finished run's final weights
  (framework.train.experiment); `model.retrain="head"` then re-initialises the classifier (the last layer,
  named `logits` in the built-in models) and trains it alone, the rest frozen (batch norm
  in inference mode), typically with `data.sampler=class_balanced` for a few epochs.
* Fine-tuning the classifier: `model.retrain="tune_head"` trains the classifier alone from
  its values in the finished run (weight balancing's and MiSLAS's second stage);
  "tune_head_shift_bn" also lets batch norm re-estimate its statistics on the new stream
  (training mode, its scale and offset kept: MiSLAS's shift learning).
* MaxNorm (weight balancing, Alshammari et al. 2022): `model.max_norm=t` projects each
  class's classifier weight vector back into the ball of radius
  T = min_c ||w_c|| + t (max_c ||w_c|| - min_c ||w_c||) after every step, T fixed from the
  norms at the start of training (the bias is not constrained).
* tau-norm: at evaluation, each class's classifier weights are rescaled,
  w_j <- w_j / ||w_j||^tau, and the bias dropped; `eval.tau_norm` gives tau, or "auto"
  picks it in {0, 0.1, ..., 1} by balanced accuracy on the clean validation split. The
  metrics are reported as `taunorm/<metric>`, beside the plain ones.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from framework.errors import ConfigError, one_line
from framework.models.heads import head_of

TAUS = tuple(round(0.1 * i, 1) for i in range(11))


def _kernel_of(head: keras.layers.Layer, field: str, value) -> tf.Variable:
  if not hasattr(head, "kernel"):
    raise ConfigError(f"{field}={value!r}: the classifier layer {head.name!r} has no kernel")
  return head.kernel


def retrain_head(model: keras.Model, seed: int, mode: str = "head") -> None:
  """Freezes every layer but the classifier; "head" re-initialises it first,
  "tune_head_shift_bn" keeps batch norm in training mode with its scale and offset frozen."""
  head = head_of(model)
  kernel = _kernel_of(head, "model.retrain", mode)
  if mode == "head":
    kernel.assign(keras.initializers.GlorotUniform(seed=seed)(kernel.shape))
    if getattr(head, "bias", None) is not None:
      head.bias.assign(tf.zeros_like(head.bias))
  for layer in model.layers:
    layer.trainable = layer is head
  if mode == "tune_head_shift_bn":
    for layer in model._flatten_layers(include_self=False):  # pylint: disable=protected-access
      if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = True  # training mode: its moving statistics follow the stream
        for variable in layer.trainable_variables:
          variable.trainable = False


@keras.saving.register_keras_serializable(package="framework")
class ClassMaxNorm(keras.constraints.Constraint):
  """Each column (a class's weight vector) of a [D, C] kernel scaled into norm <= radius."""

  def __init__(self, radius: float):
    self.radius = float(radius)

  def __call__(self, kernel):
    norms = tf.norm(kernel, axis=0, keepdims=True)
    return kernel * tf.minimum(1.0, self.radius / tf.maximum(norms, 1e-30))

  def get_config(self):
    return {"radius": self.radius}


def classifier_norms(model: keras.Model) -> list[float] | None:
  """Each class's classifier weight-vector norm, ||w_c|| (weight balancing's view of a
  classifier); None for a model whose classifier has no [D, C] kernel."""
  kernel = getattr(head_of(model), "kernel", None)
  if kernel is None or len(kernel.shape) != 2:
    return None
  return np.linalg.norm(np.asarray(kernel.numpy(), np.float64), axis=0).tolist()


def max_norm_radius(kernel: np.ndarray, fraction: float) -> float:
  """Weight balancing's radius: min + fraction * (max - min) of the per-class norms."""
  norms = np.linalg.norm(kernel, axis=0)
  return float(norms.min() + fraction * (norms.max() - norms.min()))


def constrain_head(model: keras.Model, fraction: float) -> float:
  """Sets the classifier's MaxNorm constraint (`model.max_norm`); returns its radius."""
  kernel = _kernel_of(head_of(model), "model.max_norm", fraction)
  radius = max_norm_radius(kernel.numpy(), fraction)
  kernel.constraint = ClassMaxNorm(radius)
  return radius


def features_model(model: keras.Model) -> keras.Model:
  """inputs -> the classifier's inputs (penultimate features), for tau-norm."""
  head = head_of(model)
  try:
    return keras.Model(model.inputs, head.input)
  except (AttributeError, ValueError) as e:
    raise ConfigError(f"eval.tau_norm needs a functional or sequential model ({one_line(e)})"
                      ) from None


def tau_normalized_logits(features: np.ndarray, kernel: np.ndarray, tau: float) -> np.ndarray:
  """features @ (w_j / ||w_j||^tau), no bias."""
  norms = np.linalg.norm(kernel, axis=0, keepdims=True)
  return features @ (kernel / np.maximum(norms, 1e-12) ** tau)


def parse_tau(value: str) -> float | str:
  """eval.tau_norm (checked by framework.config.fields): "" (off), "auto", or tau."""
  return value if value in ("", "auto") else float(value)
