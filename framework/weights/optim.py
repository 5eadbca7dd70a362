"""Small stateful optimisers that rules compose, in the manner of optax's transforms.

An optimiser is a pair of pure functions over a parameter structure (a tensor or a
nested dict of tensors):

    opt = momentum(lr=0.2, momentum=0.9, weight_decay=1e-4)
    slots = opt.init(params)                            # same structure, zeros
    params, slots = opt.update(grads, slots, params)    # one step

A rule keeps `slots` in its tables beside the parameters they belong to: the slots of a
per-sample parameter are per-sample too, so the trainer gathers and scatters them with it
and a step touches only the batch's rows (sparse momentum, as data parameters' SparseSGD).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import tensorflow as tf

_map = tf.nest.map_structure


class Optimizer(NamedTuple):
  """`init(params) -> slots`; `update(grads, slots, params) -> (params, slots)`."""
  init: Callable[[Any], Any]
  update: Callable[[Any, Any, Any], tuple[Any, Any]]


def _check(name: str, value: float, lo: float = 0.0, lo_open: bool = False,
           hi: float | None = None) -> float:
  ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
      value > lo if lo_open else value >= lo) and (hi is None or value < hi)
  if not ok:
    bound = f"> {lo}" if lo_open else f">= {lo}"
    raise ValueError(f"{name}={value!r} must be a number {bound}"
                     + (f" and < {hi}" if hi is not None else ""))
  return float(value)


def _decayed(grads: Any, params: Any, weight_decay: float) -> Any:
  """g + wd p (L2 weight decay added to the gradient, as torch's optimisers do)."""
  if not weight_decay:
    return grads
  return _map(lambda g, p: g + weight_decay * p, grads, params)


def sgd(lr: float, weight_decay: float = 0.0) -> Optimizer:
  """p <- p - lr (g + wd p). No slots."""
  lr, weight_decay = _check("lr", lr, lo_open=True), _check("weight_decay", weight_decay)

  def update(grads, slots, params):
    grads = _decayed(grads, params, weight_decay)
    return _map(lambda p, g: p - lr * g, params, grads), slots
  return Optimizer(lambda params: (), update)


def momentum(lr: float, momentum: float = 0.9, weight_decay: float = 0.0,
             nesterov: bool = False) -> Optimizer:
  """Heavy ball, torch form: v <- momentum v + g' with g' = g + wd p; p <- p - lr v, or
  with `nesterov` p <- p - lr (g' + momentum v) (torch.optim.SGD). Slots: v."""
  lr, weight_decay = _check("lr", lr, lo_open=True), _check("weight_decay", weight_decay)
  beta = _check("momentum", momentum, hi=1.0)
  if not isinstance(nesterov, bool):
    raise ValueError(f"nesterov={nesterov!r} must be true or false")

  def update(grads, velocity, params):
    grads = _decayed(grads, params, weight_decay)
    velocity = _map(lambda v, g: beta * v + g, velocity, grads)
    steps = _map(lambda g, v: g + beta * v, grads, velocity) if nesterov else velocity
    return _map(lambda p, s: p - lr * s, params, steps), velocity
  return Optimizer(lambda params: _map(tf.zeros_like, params), update)


def adam(lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
         weight_decay: float = 0.0) -> Optimizer:
  """Adam with bias correction and L2 weight decay in the gradient (torch's Adam).

  Slots: {"m", "v", "count"}; one count for the whole structure, so use it for shared or
  per-class parameters that every step updates.
  """
  lr, weight_decay = _check("lr", lr, lo_open=True), _check("weight_decay", weight_decay)
  b1, b2 = _check("b1", b1, hi=1.0), _check("b2", b2, hi=1.0)
  eps = _check("eps", eps, lo_open=True)

  def init(params):
    return {"m": _map(tf.zeros_like, params), "v": _map(tf.zeros_like, params),
            "count": tf.zeros([])}

  def update(grads, slots, params):
    grads = _decayed(grads, params, weight_decay)
    count = slots["count"] + 1.0
    m = _map(lambda m, g: b1 * m + (1 - b1) * g, slots["m"], grads)
    v = _map(lambda v, g: b2 * v + (1 - b2) * tf.square(g), slots["v"], grads)
    def step(p, m, v):
      t = tf.cast(count, p.dtype)
      return p - lr * (m / (1 - b1 ** t)) / (tf.sqrt(v / (1 - b2 ** t)) + eps)
    return _map(step, params, m, v), {"m": m, "v": v, "count": count}
  return Optimizer(init, update)


def exponentiated_gradient(lr: float) -> Optimizer:
  """p <- n softmax(log p - lr g): multiplicative, positive, renormalised to mean 1 over
  the last axis (size n). For positive weights that must not collapse (alpha, group
  weights); a negative lr ascends. No slots."""
  if not (isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr != 0):
    raise ValueError(f"lr={lr!r} must be a non-zero number")

  def step(p, g):
    size = tf.cast(tf.shape(p)[-1], p.dtype)
    return size * tf.nn.softmax(tf.math.log(p) - lr * g, axis=-1)
  return Optimizer(lambda params: (), lambda grads, slots, params: (
      _map(step, params, grads), slots))
