"""Decoupled training for long tails (Kang et al. 2020): classifier re-training and tau-norm.

* cRT: `model.init_from=WORKDIR` starts from a finished run's final weights
  (framework.train.experiment); `model.retrain="head"` then re-initialises the classifier (the last layer,
  named `logits` in the built-in models) and trains it alone, the rest frozen (batch norm
  in inference mode), typically with `data.sampler=class_balanced` for a few epochs.
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


def retrain_head(model: keras.Model, seed: int) -> None:
  """Re-initialises the classifier layer and freezes every other layer."""
  head = head_of(model)
  if not hasattr(head, "kernel"):
    raise ConfigError(f"model.retrain='head': the last layer {head.name!r} has no kernel")
  initializer = keras.initializers.GlorotUniform(seed=seed)
  head.kernel.assign(initializer(head.kernel.shape))
  if getattr(head, "bias", None) is not None:
    head.bias.assign(tf.zeros_like(head.bias))
  for layer in model.layers:
    layer.trainable = layer is head


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
