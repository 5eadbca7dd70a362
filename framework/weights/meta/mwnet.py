"""Meta-Weight-Net (Shu et al., 2019): weight = V(l_i; Theta), V a 1-100-1 MLP fit on clean data.

Each step: the virtual step theta'(Theta) = theta - lr grad (1/B) sum_i V(l_i) l_i (losses
enter V as constants, so theta' is linear in the weights); the hypergradient
dL_val/dTheta = sum_i (dL_val/dw_i) dV(l_i)/dTheta over the global batch (summed over
replicas); one Adam step on Theta (lr 1e-3, L2 weight decay 1e-4, as in the paper's
noisy-label runs); the real step then uses V(l_i) with the updated Theta, not
back-propagated. With `normalize`, V's outputs are scaled to mean one over the global
batch in both steps (an older script of the authors divides by their sum; their current code
does not), so only their ratios matter.

Theta ({"w1", "b1", "w2", "b2"}) and its Adam slots are `shared` tables of the rule state
(`vnet` and `adam`), so they are checkpointed and kept identical on every replica. The per-sample
`weight` table holds each example's last weight (for watching).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from framework.weights import optim
from framework.weights.meta import _validate
from framework.weights.meta.hypergradient import (Hypergradient, normalized, replica_sum,
                                                  weight_hypergradient)
from framework.weights.rule import WEIGHT, Rule, register_rule
from framework.weights.tables import MetaContext, Tables

VNET, ADAM = "vnet", "adam"


def init_vnet(hidden: int, seed: int, decreasing: bool = False) -> dict[str, np.ndarray]:
  """PyTorch-Linear-style init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.

  `decreasing` takes the magnitudes with w1 >= 0 and w2 <= 0, so V starts non-increasing
  in the loss (small-loss examples weigh more): with a random start V can be increasing,
  and at short budgets the meta-gradient does not turn it around, so it then weights the
  noisy labels most.
  """
  rng = np.random.default_rng(seed)
  u = lambda bound, shape: rng.uniform(-bound, bound, shape).astype(np.float32)
  theta = {"w1": u(1.0, [1, hidden]), "b1": u(1.0, [hidden]),
           "w2": u(hidden ** -0.5, [hidden, 1]), "b2": u(hidden ** -0.5, [1])}
  if decreasing:
    theta["w1"], theta["w2"] = np.abs(theta["w1"]), -np.abs(theta["w2"])
  return theta


def vnet(theta: dict, loss: tf.Tensor) -> tf.Tensor:
  """V(l; Theta) in (0, 1) for losses [b], computed in Theta's dtype."""
  l = tf.cast(loss, theta["w1"].dtype)[:, None]
  hidden = tf.nn.relu(l @ theta["w1"] + theta["b1"])
  return tf.sigmoid(hidden @ theta["w2"] + theta["b2"])[:, 0]


def vnet_weight(theta: dict, loss: tf.Tensor, global_batch: int, normalize: bool,
                valid: tf.Tensor | None = None) -> tf.Tensor:
  """V(l_i; Theta), or B V(l_i) / sum_j V(l_j) over the global batch when `normalize`
  (0 on padding rows, which the sum leaves out)."""
  v = vnet(theta, loss)
  if valid is not None:
    v *= tf.cast(valid, v.dtype)
  return normalized(v, global_batch) if normalize else v


def vnet_hypergradient(theta: dict, ctx: MetaContext, labels: tf.Tensor, lr: float,
                       normalize: bool = False) -> tuple[dict, Hypergradient]:
  """dL_val(theta'(Theta))/dTheta summed over the global batch, and the virtual step.

  The virtual step's weights are ctx.base_weight * vnet_weight(...). With `normalize`, the
  gradient flows through the replica sum of the normaliser (all_reduce is differentiable).
  """
  base = tf.cast(ctx.base_weight, theta["w1"].dtype)
  weight_fn = lambda loss: base * vnet_weight(theta, loss, ctx.global_batch, normalize,
                                              ctx.valid)
  hyper = weight_hypergradient(ctx, labels, lr, weight_fn)
  with tf.GradientTape() as tape:
    tape.watch(theta)
    weight = weight_fn(hyper.loss)
  grads = tape.gradient(weight, theta, output_gradients=tf.cast(hyper.dweight, weight.dtype))
  return replica_sum(grads), hyper


@register_rule("mwnet")
def mwnet(inner_lr: float | str = 0.1, meta_lr: float = 1e-3, weight_decay: float = 1e-4,
          hidden: int = 100, seed: int = 0, normalize: bool = False,
          init: str = "decreasing") -> Rule:
  """Meta-Weight-Net.

  Args:
    inner_lr: step size of the virtual SGD step, or "model" for the model optimizer's
      current rate (the reference implementations' choice, which follows a schedule).
    meta_lr: Adam learning rate of V's parameters.
    weight_decay: L2 coefficient on V's parameters.
    hidden: width of V's hidden layer (100 in the paper).
    seed: seed of V's initial parameters.
    init: "decreasing" (V starts non-increasing in the loss; see `init_vnet`) or "random"
      (the paper's: signs at random).
    normalize: scale V's outputs to mean one over the global batch, in the virtual and the
      real step (as an older script of the authors does; the paper and their current code
      use V's outputs as they are).
  """
  inner_lr = _validate.inner_lr(inner_lr)
  meta_lr = _validate.positive("meta_lr", meta_lr)
  weight_decay = _validate.non_negative("weight_decay", weight_decay)
  if not (isinstance(hidden, int) and hidden > 0):
    raise ValueError(f"hidden={hidden!r} must be a positive integer")
  if init not in ("decreasing", "random"):
    raise ValueError(f"init={init!r} must be 'decreasing' or 'random'")
  if not isinstance(normalize, bool):
    raise ValueError(f"normalize={normalize!r} must be true or false")

  adam = optim.adam(lr=meta_lr, weight_decay=weight_decay)

  def init(num_samples: int, num_classes: int) -> Tables:
    del num_samples, num_classes
    theta = {k: tf.constant(v)
             for k, v in init_vnet(hidden, seed, init == "decreasing").items()}
    return Tables(shared={VNET: theta, ADAM: adam.init(theta)})

  def meta(view: Tables, batch, ctx) -> Tables:
    theta = view.shared[VNET]
    grads, hyper = vnet_hypergradient(theta, ctx, batch.label, ctx.inner_lr(inner_lr), normalize)
    theta, slots = adam.update(grads, view.shared[ADAM], theta)
    weight = tf.stop_gradient(vnet_weight(theta, hyper.loss, ctx.global_batch, normalize,
                                          ctx.valid))
    return view.replace(per_sample={WEIGHT: weight}, shared={VNET: theta, ADAM: slots})

  return Rule(init=init, meta=meta)
