"""The extension point: a weight-update rule is a few pure functions over small state.

In the spirit of optax's `GradientTransformation`: a rule owns no variables. The trainer
creates the variables from `init`, gathers the rows of the batch into a view, calls the
rule's functions on that view inside its compiled step, and scatters the result back.
Every rule works unchanged on one device, several replicas, and several hosts.

A user's rule lives in the user's module:

    @framework.register_rule("my_rule")
    def my_rule(lr: float = 0.1) -> framework.Rule:
      ...
      return framework.Rule(init=init, update=update)

and is loaded by listing that module in `config.extra_modules`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import numpy as np
import tensorflow as tf

from framework.config.registry import Registry
from framework.weights.tables import (Batch, Modulation, Objective, StepResult, Tables,
                                      flat_key)

WEIGHT = "weight"  # the per-sample weight table every state has (initialised to 1)
ALPHA = "alpha"    # the per-class alpha every state has (initialised to 1)


def no_tables(num_samples: int, num_classes: int) -> Tables:
  del num_samples, num_classes
  return Tables()


def product_modulation(view: Tables, batch: Batch) -> Modulation:
  """The default: weight = sample[index] * alpha[label]."""
  alpha = tf.gather(view.per_class[ALPHA], batch.label)
  return Modulation(weight=view.per_sample[WEIGHT] * alpha)


class Signal(NamedTuple):
  """Which of a rule's snapshotted tables tells a clean label from a wrong one, and how.

  What the label-issue ranking, `framework.tools.inspect_run` and the noisy-label studies
  read of a finished run. `averaged`: the table's mean over the run's snapshots (a weight
  that jumps from visit to visit), else its last snapshot (a table that already is a
  running average). `high_is_clean`: whether a high value marks a clean label.
  """
  table: str = flat_key("per_sample", WEIGHT)
  averaged: bool = True
  high_is_clean: bool = True

  def suspicion(self, values: np.ndarray) -> np.ndarray:
    """The values turned so that a higher one marks a more likely wrong label."""
    return -values if self.high_is_clean else values


class PassResult(NamedTuple):
  """What an epoch pass saw: the model on the whole training set, in `index` order, without
  augmentation (the model at inference, as evaluation runs it)."""
  loss: np.ndarray           # [N, P] per-example loss of each peer (P = Rule.peers)
  probabilities: np.ndarray  # [N, P, C] softmax of each peer's logits
  label: np.ndarray          # [N] observed labels
  epoch: int                 # the epoch about to start


class EpochPass(NamedTuple):
  """A rule's request for a pass over the training set at the start of some epochs.

  `update(tables, result)` runs on the host with every table as NumPy arrays (the whole
  state, `WeightState.tables()`) and returns the tables to replace, whole. The pass runs
  before the first step of each epoch e >= `first_epoch` with (e - first_epoch) a multiple
  of `every_epochs`. Its tables are checkpointed with the state and the trainer records the
  step of its last pass, so a run resumed after a pass does not repeat it, and one resumed
  before it makes it from the same model, to the same result.
  """
  update: Callable[[Tables, PassResult], Tables]
  first_epoch: int = 0
  every_epochs: int = 1

  def due(self, epoch: int) -> bool:
    return epoch >= self.first_epoch and (epoch - self.first_epoch) % self.every_epochs == 0


@dataclasses.dataclass(frozen=True)
class Rule:
  """A weight-update rule.

  Attributes:
    init: (num_samples, num_classes) -> Tables of initial values of the rule's own
      tables. The `weight` [N] and `alpha` [C] tables always exist (ones); a rule may
      return them to initialise them differently.
    modulate: (view, batch) -> Modulation, called inside the gradient tape, so the
      gradient of the loss with respect to any view entry it reads reaches `update`.
    update: (view, batch, StepResult) -> Tables, the new view, after the model step.
      It sees the global batch, identically on every replica. None: no update.
    meta: (view, batch, MetaContext) -> Tables, before the model step, for rules that
      learn from a clean validation batch through a virtual step. None: no meta step.
      A rule with a meta step needs a clean validation split (`needs_validation`).
    peers: how many copies of the model train together (co-teaching: 2). With peers > 1
      the per-example loss `modulate`'s callables and `update` see is [B, peers].
    signal: the table that ranks the training labels by how likely they are clean
      (default: the `weight` table, averaged over the snapshots).
    epoch_pass: a periodic pass over the training set that updates the tables from the
      model's losses and predictions on every example (DivideMix's co-divide). None: none.
    objective: (view, batch, model, features, step) -> Objective, for a rule that forms
      the step's loss itself (DivideMix's MixMatch: mixed inputs, soft targets) instead of
      weighting the configured per-example loss; `modulate` is then unused, and neither
      class weighting nor the data's importance enters the loss. None: the weighted loss.
  """
  init: Callable[[int, int], Tables] = no_tables
  modulate: Callable[[Tables, Batch], Modulation] = product_modulation
  update: Callable[[Tables, Batch, StepResult], Tables] | None = None
  meta: Callable[[Tables, Batch, Any], Tables] | None = None
  peers: int = 1
  signal: Signal = Signal()
  epoch_pass: EpochPass | None = None
  objective: Callable[..., Objective] | None = None

  @property
  def needs_validation(self) -> bool:
    """Whether the trainer must feed a clean validation batch (a meta rule)."""
    return self.meta is not None


RULES: Registry[Rule] = Registry("rule")


def register_rule(name: str | None = None):
  """Decorator registering a rule factory (kwargs -> Rule) under `name`."""
  return RULES.register(name)


@register_rule("fixed")
def fixed() -> Rule:
  """No update: weight = class weight * importance (from the data) * sample * alpha (ones)."""
  return Rule()
