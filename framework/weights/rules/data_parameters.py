"""Data parameters (Saxena et al., NeurIPS 2019): learnable per-class and per-sample temperatures.

Logits are divided by sigma_i = exp(s_class[y_i]) + exp(s_inst[i]) (the paper's sum form;
with one group disabled, sigma is that group's exp term). The modulation weight is 1
(alpha[y], which this rule leaves at 1); a high-temperature example has a flatter softmax
and contributes less gradient, so 1 / sigma is its effective weight, written into the
`weight` table for watching.

As the authors' code does: the log-temperatures follow SGD with momentum 0.9 on
`StepResult.grads` (the gradient of the step's mean loss), updating only the rows in the
batch (and only the classes present); the L2 penalty 0.5 wd s^2 is summed over the batch's
members, so a class is decayed once per occurrence in the batch; every row is clamped to
[log 1/20, log 20] at every step (here when it is read, which is the same for every row a
step uses, and keeps the work O(batch)).

`preset` picks the paper's published runs: "cifar100_noisy" (instance parameters only,
init 1.0, lr 0.2, wd 0: the CIFAR-100 noisy-label run) and "imagenet" (joint: class init
1.0, lr 0.1, wd 1e-4; instance init 0.001, lr 0.8, wd 1e-8; the instance init starts
below the clamp range, so it is clamped to 1/20 at once). Without a preset the kwargs
apply; their defaults (joint, both inits 1.0, so the initial temperature is 2) are the
project's, not a published configuration.
"""

from __future__ import annotations

import math

import tensorflow as tf

from framework.weights import optim
from framework.weights.rule import ALPHA, WEIGHT, Rule, register_rule
from framework.weights.tables import Modulation, Tables

INSTANCE, CLASS = "instance", "class"  # groups {"log_temperature": [N or C], "velocity": ...}
LOG_MIN, LOG_MAX = math.log(1 / 20), math.log(20)


PRESETS = {
    "cifar100_noisy": dict(per_sample=True, per_class=False, inst_init=1.0, inst_lr=0.2,
                           inst_wd=0.0),
    "imagenet": dict(per_sample=True, per_class=True, class_init=1.0, class_lr=0.1,
                     class_wd=1e-4, inst_init=0.001, inst_lr=0.8, inst_wd=1e-8),
}


def _clamped(group: dict) -> dict:
  """The group with its log-temperatures clamped (the gradient passes as if the stored
  value had been clamped already, as in the reference)."""
  s = group["log_temperature"]
  return {**group, "log_temperature": s + tf.stop_gradient(
      tf.clip_by_value(s, LOG_MIN, LOG_MAX) - s)}


def temperature(view: Tables, batch, per_sample: bool, per_class: bool) -> tf.Tensor:
  """sigma [B] of the batch from the view's (clamped) log-temperatures."""
  sigma = 0.0
  if per_class:
    log_t = _clamped(view.per_class[CLASS])["log_temperature"]
    sigma += tf.exp(tf.gather(log_t, batch.label))
  if per_sample:
    sigma += tf.exp(_clamped(view.per_sample[INSTANCE])["log_temperature"])
  return sigma


def _momentum_step(opt: optim.Optimizer, group: dict, grad: tf.Tensor, wd: float,
                   occurrences: tf.Tensor | float = 1.0) -> dict:
  """One momentum step of {"log_temperature", "velocity"} from clamped values, with the
  L2 penalty's gradient wd * s counted once per occurrence in the batch; clamped after."""
  s = _clamped(group)["log_temperature"]
  s, v = opt.update(grad + wd * occurrences * s, group["velocity"], s)
  return {"log_temperature": tf.clip_by_value(s, LOG_MIN, LOG_MAX), "velocity": v}


@register_rule("data_parameters")
def data_parameters(per_sample: bool = True, per_class: bool = True,
                    inst_init: float = 1.0, inst_lr: float = 0.2, inst_wd: float = 0.0,
                    class_init: float = 1.0, class_lr: float = 0.1, class_wd: float = 1e-4,
                    momentum: float = 0.9, preset: str = "") -> Rule:
  """Per-sample and per-class temperature parameters; see the module docstring."""
  if preset:
    if preset not in PRESETS:
      raise ValueError(f"preset={preset!r} is not known; known: {', '.join(PRESETS)}")
    return data_parameters(**{**dict(momentum=momentum, per_class=False), **PRESETS[preset]})
  if not (per_sample or per_class):
    raise ValueError("per_sample=False and per_class=False: enable at least one")
  for name, value in (("inst_lr", inst_lr), ("class_lr", class_lr),
                      ("inst_init", inst_init), ("class_init", class_init)):
    if not value > 0:
      raise ValueError(f"{name}={value} must be > 0")
  for name, value in (("inst_wd", inst_wd), ("class_wd", class_wd)):
    if not value >= 0:
      raise ValueError(f"{name}={value} must be >= 0")
  if not 0 <= momentum < 1:
    raise ValueError(f"momentum={momentum} must be in [0, 1)")
  inst_opt = optim.momentum(lr=inst_lr, momentum=momentum)
  class_opt = optim.momentum(lr=class_lr, momentum=momentum)

  def init(num_samples, num_classes):
    sigma0 = (class_init if per_class else 0.0) + (inst_init if per_sample else 0.0)
    tables = Tables({WEIGHT: tf.fill([num_samples], 1.0 / sigma0)}, {}, {})
    group = lambda size, value: {"log_temperature": tf.fill([size], math.log(value)),
                                 "velocity": tf.zeros([size])}
    if per_sample:
      tables = tables.replace(per_sample={INSTANCE: group(num_samples, inst_init)})
    if per_class:
      tables = tables.replace(per_class={CLASS: group(num_classes, class_init)})
    return tables

  def modulate(view, batch):
    sigma = temperature(view, batch, per_sample, per_class)
    return Modulation(weight=tf.gather(view.per_class[ALPHA], batch.label),
                      logit_scale=1.0 / sigma)

  def update(view, batch, result):
    grads = result.grads
    if per_sample:
      view = view.replace(per_sample={INSTANCE: _momentum_step(
          inst_opt, view.per_sample[INSTANCE],
          grads.per_sample[INSTANCE]["log_temperature"], inst_wd)})
    if per_class:
      old = view.per_class[CLASS]
      occurrences = tf.math.unsorted_segment_sum(
          batch.real_rows(), batch.label, old["log_temperature"].shape[0])
      new = _momentum_step(class_opt, old, grads.per_class[CLASS]["log_temperature"],
                           class_wd, occurrences)
      present = occurrences > 0  # only the classes in the batch move
      view = view.replace(per_class={CLASS: tf.nest.map_structure(
          lambda n, o: tf.where(present, n, o), new, old)})
    return view.replace(per_sample={
        WEIGHT: 1.0 / temperature(view, batch, per_sample, per_class)})

  return Rule(init=init, modulate=modulate, update=update)
