"""Meta-Weight-Net (Shu et al., 2019): weight = V(l_i; Theta), V a 1-100-1 MLP fit on clean data.

Each step: the virtual step theta'(Theta) = theta - lr grad (1/B) sum_i V(l_i) l_i (losses
enter V as constants, so theta' is linear in the weights); the hypergradient
dL_val/dTheta = sum_i (dL_val/dw_i) dV(l_i)/dTheta over the global batch (summed over
replicas); one Adam step on Theta (lr 1e-3, L2 weight decay 1e-4, as in the authors'
ResNet-32 noisy-label script), or with `meta_optimizer="sgd"` one torch-form SGD step
(momentum, optionally Nesterov: their class-imbalance and WRN-28-10 scripts); the real
step then uses V(l_i) with the updated Theta, not back-propagated. With `normalize`, V's
outputs are scaled to mean one over the global batch in both steps (the class-imbalance
and WRN-28-10 scripts divide them by their sum, the same loss; the ResNet-32 script does
not), so only their ratios matter.

Theta ({"w1", "b1", "w2", "b2"}) and its optimiser's slots are `shared` tables of the rule
state (`vnet`, and `adam` or `momentum`), so they are checkpointed and kept identical on
every replica. The per-sample `weight` table holds each example's last weight (for
watching).
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

VNET = "vnet"


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
          init: str = "decreasing", meta_optimizer: str = "adam", meta_momentum: float = 0.9,
          meta_nesterov: bool = False) -> Rule:
  """Meta-Weight-Net.

  Args:
    inner_lr: step size of the virtual SGD step, or "model" for the model optimizer's
      current rate (the reference implementations' choice, which follows a schedule).
    meta_lr: learning rate of V's parameters.
    weight_decay: L2 coefficient on V's parameters (added to their gradient).
    hidden: width of V's hidden layer (100 in the paper).
    seed: seed of V's initial parameters.
    init: "decreasing" (V starts non-increasing in the loss; see `init_vnet`) or "random"
      (the paper's: signs at random).
    normalize: scale V's outputs to mean one over the global batch, in the virtual and the
      real step (the authors' class-imbalance and WRN-28-10 scripts divide them by their
      sum, the same loss; their ResNet-32 noisy-label script uses them as they are).
    meta_optimizer: V's optimiser: "adam" (with bias correction) or "sgd" (torch form).
    meta_momentum: "sgd": momentum of V's step, in [0, 1).
    meta_nesterov: "sgd": Nesterov momentum (torch.optim.SGD's nesterov=True).
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
  optimizer, slots_name = _meta_optimizer(meta_optimizer, meta_lr, weight_decay, meta_momentum,
                                          meta_nesterov)

  def init(num_samples: int, num_classes: int) -> Tables:
    del num_samples, num_classes
    theta = {k: tf.constant(v)
             for k, v in init_vnet(hidden, seed, init == "decreasing").items()}
    return Tables(shared={VNET: theta, slots_name: optimizer.init(theta)})

  def meta(view: Tables, batch, ctx) -> Tables:
    theta = view.shared[VNET]
    grads, hyper = vnet_hypergradient(theta, ctx, batch.label, ctx.inner_lr(inner_lr), normalize)
    theta, slots = optimizer.update(grads, view.shared[slots_name], theta)
    weight = tf.stop_gradient(vnet_weight(theta, hyper.loss, ctx.global_batch, normalize,
                                          ctx.valid))
    return view.replace(per_sample={WEIGHT: weight}, shared={VNET: theta, slots_name: slots})

  return Rule(init=init, meta=meta)


def _meta_optimizer(name: str, lr: float, weight_decay: float, momentum: float,
                    nesterov: bool) -> tuple[optim.Optimizer, str]:
  """V's optimiser and the name of its slots' table: Adam ("adam"), or torch-form SGD with
  momentum ("momentum"); momentum and Nesterov are SGD's only."""
  momentum = _validate.fraction("meta_momentum", momentum)
  if not isinstance(nesterov, bool):
    raise ValueError(f"meta_nesterov={nesterov!r} must be true or false")
  if name == "adam":
    if (momentum, nesterov) != (0.9, False):
      raise ValueError(f"meta_momentum={momentum!r}, meta_nesterov={nesterov!r}: they apply to "
                       "meta_optimizer='sgd' only; leave them at 0.9 and false for 'adam'")
    return optim.adam(lr=lr, weight_decay=weight_decay), "adam"
  if name != "sgd":
    raise ValueError(f"meta_optimizer={name!r} must be 'adam' or 'sgd'")
  if nesterov and not momentum:
    raise ValueError("meta_nesterov=True needs meta_momentum > 0 (got 0)")
  return optim.momentum(lr, momentum, weight_decay, nesterov), "momentum"
