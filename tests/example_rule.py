"""A user's rule: focal-style weights from each example's current loss."""

from __future__ import annotations

import tensorflow as tf

import framework


@framework.register_rule("example_focal_weights")
def example_focal_weights(gamma: float = 2.0) -> framework.Rule:
  """w_i = (1 - p_i)^gamma, p_i = exp(-loss_i): confident examples count less."""
  if not gamma >= 0:
    raise ValueError(f"gamma={gamma} must be >= 0")

  def modulate(view, batch):
    def weight(loss):  # called with the [B] loss after the forward pass; not differentiated
      return tf.stop_gradient(-tf.math.expm1(-loss)) ** gamma
    return framework.Modulation(weight=weight)

  def update(view, batch, result):  # keep the weights used, to watch them in TensorBoard
    return view.replace(per_sample={"weight": result.weight})

  return framework.Rule(modulate=modulate, update=update)
