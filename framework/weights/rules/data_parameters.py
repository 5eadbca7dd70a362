"""Data parameters (Saxena et al., NeurIPS 2019): learnable per-class and per-sample temperatures.

Logits are divided by sigma_i = exp(s_class[y_i]) + exp(s_inst[i]) (the paper's sum form;
with one group disabled, sigma is that group's exp term). The modulation weight is 1
(alpha[y], which this rule leaves at 1); a high-temperature example has a flatter softmax
and contributes less gradient, so 1 / sigma is its effective weight, written into the
`weight` table for watching.

The log-temperatures follow SGD with momentum 0.9 on `StepResult.grads` (the gradient of
the step's mean loss), updating only the rows in the batch (and only the classes present),
with L2 decay on those rows only, clamped to [log 1/20, log 20]. Defaults: class
parameters as in the paper's ImageNet setting (init 1.0, lr 0.1, wd 1e-4), instance
parameters as in its CIFAR-100 noisy-label setting (init 1.0, lr 0.2, wd 0). Its ImageNet
instance setting (init 0.001, lr 0.8, wd 1e-8) starts below the clamp range; an initial
value outside [1/20, 20] is clamped at the first update of its row.
"""

from __future__ import annotations

import math

import tensorflow as tf

from framework.weights import optim
from framework.weights.rule import ALPHA, WEIGHT, Rule, register_rule
from framework.weights.tables import Modulation, Tables

INSTANCE, CLASS = "instance", "class"  # groups {"log_temperature": [N or C], "velocity": ...}
LOG_MIN, LOG_MAX = math.log(1 / 20), math.log(20)


def temperature(view: Tables, batch, per_sample: bool, per_class: bool) -> tf.Tensor:
  """sigma [B] of the batch from the view's log-temperatures."""
  sigma = 0.0
  if per_class:
    sigma += tf.exp(tf.gather(view.per_class[CLASS]["log_temperature"], batch.label))
  if per_sample:
    sigma += tf.exp(view.per_sample[INSTANCE]["log_temperature"])
  return sigma


def _momentum_step(opt: optim.Optimizer, group: dict, grads: dict) -> dict:
  """One clamped momentum step of {"log_temperature", "velocity"}."""
  s, v = opt.update(grads["log_temperature"], group["velocity"], group["log_temperature"])
  return {"log_temperature": tf.clip_by_value(s, LOG_MIN, LOG_MAX), "velocity": v}


@register_rule("data_parameters")
def data_parameters(per_sample: bool = True, per_class: bool = True,
                    inst_init: float = 1.0, inst_lr: float = 0.2, inst_wd: float = 0.0,
                    class_init: float = 1.0, class_lr: float = 0.1, class_wd: float = 1e-4,
                    momentum: float = 0.9) -> Rule:
  """Per-sample and per-class temperature parameters; see the module docstring."""
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
  inst_opt = optim.momentum(lr=inst_lr, momentum=momentum, weight_decay=inst_wd)
  class_opt = optim.momentum(lr=class_lr, momentum=momentum, weight_decay=class_wd)

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
          inst_opt, view.per_sample[INSTANCE], grads.per_sample[INSTANCE])})
    if per_class:
      old = view.per_class[CLASS]
      new = _momentum_step(class_opt, old, grads.per_class[CLASS])
      present = tf.math.unsorted_segment_sum(
          tf.ones_like(batch.label, tf.float32), batch.label,
          old["log_temperature"].shape[0]) > 0  # only the classes in the batch move
      view = view.replace(per_class={CLASS: tf.nest.map_structure(
          lambda n, o: tf.where(present, n, o), new, old)})
    return view.replace(per_sample={
        WEIGHT: 1.0 / temperature(view, batch, per_sample, per_class)})

  return Rule(init=init, modulate=modulate, update=update)
