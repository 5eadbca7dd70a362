"""The seeds' naive rule, kept ONLY as a documented baseline: it collapses.

w <- clip(w - lr * dL/dw, lo, hi), with dL/dw_i = base_i * alpha_{y_i} * loss_i / B >= 0
(the gradient of the step's mean loss, `StepResult.grads`). Every step can only shrink a
weight, fastest for the hardest examples, so the mean weight decays toward `lo`.
"""

from __future__ import annotations

import math

from framework.weights import optim
from framework.weights.rule import WEIGHT, Rule, register_rule
from framework.weights.rules.combine import clip, with_transforms


@register_rule("sgd")
def sgd(lr: float = 1.0, lo: float = 0.0, hi: float = math.inf) -> Rule:
  """Plain gradient descent on the per-sample weights (a baseline that collapses)."""
  if not lo <= hi:
    raise ValueError(f"lo={lo} must be <= hi={hi}")
  opt = optim.sgd(lr)

  def update(view, batch, result):
    weight, _ = opt.update(result.grads.per_sample[WEIGHT], (), view.per_sample[WEIGHT])
    return view.replace(per_sample={WEIGHT: weight})

  return with_transforms(Rule(update=update), clip(lo, hi))
