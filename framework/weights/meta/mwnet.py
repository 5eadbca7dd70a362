"""Meta-Weight-Net (Shu et al., 2019): weight = V(l_i; Theta), V a 1-100-1 MLP fit on clean data.

Each step: the virtual step theta'(Theta) = theta - lr grad (1/B) sum_i V(l_i) l_i (losses
enter V as constants, so theta' is linear in the weights); the hypergradient
dL_val/dTheta = sum_i (dL_val/dw_i) dV(l_i)/dTheta over the global batch (summed over
replicas); one Adam step on Theta (lr 1e-3, L2 weight decay 1e-4, as in the paper's
noisy-label runs); the real step then uses V(l_i) with the updated Theta, not
back-propagated. With `normalize`, V's outputs are scaled to mean one over the global
batch in both steps (the authors' code divides by their sum), so only their ratios matter.

Theta and its Adam moments are `shared` tables of the rule state, so they are
checkpointed and kept identical on every replica like everything else. The per-sample
`weight` table holds each example's last weight (for watching).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from framework.weights.meta import _validate
from framework.weights.meta.hypergradient import (Hypergradient, normalized, replica_sum,
                                                  weight_hypergradient)
from framework.weights.rule import WEIGHT, Rule, register_rule
from framework.weights.tables import MetaContext, Tables

PARAMS = ("vnet_w1", "vnet_b1", "vnet_w2", "vnet_b2")
STEP = "adam_step"
_BETA1, _BETA2, _EPSILON = 0.9, 0.999, 1e-8


def init_vnet(hidden: int, seed: int) -> dict[str, np.ndarray]:
  """PyTorch-Linear-style init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases."""
  rng = np.random.default_rng(seed)
  u = lambda bound, shape: rng.uniform(-bound, bound, shape).astype(np.float32)
  return {"vnet_w1": u(1.0, [1, hidden]), "vnet_b1": u(1.0, [hidden]),
          "vnet_w2": u(hidden ** -0.5, [hidden, 1]), "vnet_b2": u(hidden ** -0.5, [1])}


def vnet(theta: dict, loss: tf.Tensor) -> tf.Tensor:
  """V(l; Theta) in (0, 1) for losses [b], computed in Theta's dtype."""
  l = tf.cast(loss, theta["vnet_w1"].dtype)[:, None]
  hidden = tf.nn.relu(l @ theta["vnet_w1"] + theta["vnet_b1"])
  return tf.sigmoid(hidden @ theta["vnet_w2"] + theta["vnet_b2"])[:, 0]


def vnet_weight(theta: dict, loss: tf.Tensor, global_batch: int, normalize: bool) -> tf.Tensor:
  """V(l_i; Theta), or B V(l_i) / sum_j V(l_j) over the global batch when `normalize`."""
  v = vnet(theta, loss)
  return normalized(v, global_batch) if normalize else v


def vnet_hypergradient(theta: dict, ctx: MetaContext, labels: tf.Tensor, lr: float,
                       normalize: bool = False) -> tuple[dict, Hypergradient]:
  """dL_val(theta'(Theta))/dTheta summed over the global batch, and the virtual step.

  The virtual step's weights are ctx.base_weight * vnet_weight(...). With `normalize`, the
  gradient flows through the replica sum of the normaliser (all_reduce is differentiable).
  """
  base = tf.cast(ctx.base_weight, theta["vnet_w1"].dtype)
  weight_fn = lambda loss: base * vnet_weight(theta, loss, ctx.global_batch, normalize)
  hyper = weight_hypergradient(ctx, labels, lr, weight_fn)
  with tf.GradientTape() as tape:
    tape.watch(theta)
    weight = weight_fn(hyper.loss)
  grads = tape.gradient(weight, theta, output_gradients=tf.cast(hyper.dweight, weight.dtype))
  return replica_sum(grads), hyper


def adam_step(params: dict, grads: dict, moments: dict, step: tf.Tensor, lr: float,
              weight_decay: float) -> tuple[dict, dict, tf.Tensor]:
  """One Adam step with L2 weight decay added to the gradient (PyTorch's Adam)."""
  step = step + 1.0
  new_params, new_moments = {}, {}
  for key, p in params.items():
    g = grads[key] + weight_decay * p
    m = _BETA1 * moments[f"adam_m_{key}"] + (1 - _BETA1) * g
    v = _BETA2 * moments[f"adam_v_{key}"] + (1 - _BETA2) * tf.square(g)
    m_hat, v_hat = m / (1 - _BETA1 ** step), v / (1 - _BETA2 ** step)
    new_params[key] = p - lr * m_hat / (tf.sqrt(v_hat) + _EPSILON)
    new_moments[f"adam_m_{key}"], new_moments[f"adam_v_{key}"] = m, v
  return new_params, new_moments, step


@register_rule("mwnet")
def mwnet(inner_lr: float = 0.1, meta_lr: float = 1e-3, weight_decay: float = 1e-4,
          hidden: int = 100, seed: int = 0, normalize: bool = False) -> Rule:
  """Meta-Weight-Net.

  Args:
    inner_lr: step size of the virtual SGD step.
    meta_lr: Adam learning rate of V's parameters.
    weight_decay: L2 coefficient on V's parameters.
    hidden: width of V's hidden layer (100 in the paper).
    seed: seed of V's initial parameters.
    normalize: scale V's outputs to mean one over the global batch, in the virtual and the
      real step (as the authors' code does; the paper's formula uses V's outputs as is).
  """
  inner_lr = _validate.positive("inner_lr", inner_lr)
  meta_lr = _validate.positive("meta_lr", meta_lr)
  weight_decay = _validate.non_negative("weight_decay", weight_decay)
  if not (isinstance(hidden, int) and hidden > 0):
    raise ValueError(f"hidden={hidden!r} must be a positive integer")
  if not isinstance(normalize, bool):
    raise ValueError(f"normalize={normalize!r} must be true or false")

  def init(num_samples: int, num_classes: int) -> Tables:
    del num_samples, num_classes
    params = init_vnet(hidden, seed)
    shared = {k: tf.constant(v) for k, v in params.items()}
    for k, v in params.items():
      shared[f"adam_m_{k}"] = tf.zeros(v.shape)
      shared[f"adam_v_{k}"] = tf.zeros(v.shape)
    shared[STEP] = tf.constant(0.0)
    return Tables(shared=shared)

  def meta(view: Tables, batch, ctx) -> Tables:
    theta = {k: view.shared[k] for k in PARAMS}
    grads, hyper = vnet_hypergradient(theta, ctx, batch.label, inner_lr, normalize)
    moments = {k: v for k, v in view.shared.items() if k.startswith("adam_")}
    del moments[STEP]
    theta, moments, step = adam_step(theta, grads, moments, view.shared[STEP], meta_lr,
                                     weight_decay)
    weight = tf.stop_gradient(vnet_weight(theta, hyper.loss, ctx.global_batch, normalize))
    return view.replace(per_sample={WEIGHT: weight}, shared={**theta, **moments, STEP: step})

  return Rule(init=init, meta=meta, needs_validation=True)
