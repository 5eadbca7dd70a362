"""The effective per-sample weight: what each example's loss is multiplied by.

    effective[i] = class_weight(epoch)[y_i] * importance_i * weight[i] * alpha[y_i]

the trainer's product of the class weighting (after a deferred switch, if any), the data's
importance scores and the default modulation of the rule's tables. A rule with its own
`modulate` is shown through its `weight` table. Snapshots store it as `effective/weight`
(and the class weights in force as `effective/class_weight`), so TensorBoard and
`framework.tools.inspect_run` show the weighting a run actually trained with, not just the rule's part.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from framework.weights.rule import ALPHA, WEIGHT

EFFECTIVE_WEIGHT = "effective/weight"
EFFECTIVE_CLASS_WEIGHT = "effective/class_weight"


def effective_weights(tables: Mapping[str, np.ndarray], labels: np.ndarray,
                      class_weight: np.ndarray,
                      importance: np.ndarray | None = None) -> np.ndarray:
  """float32 [N]: class_weight[y] * importance * weight * alpha[y] from flat tables."""
  labels = np.asarray(labels)
  weight = np.asarray(tables[f"per_sample/{WEIGHT}"], np.float32)
  per_class = np.asarray(class_weight, np.float32) * np.asarray(tables[f"per_class/{ALPHA}"],
                                                                  np.float32)
  effective = weight * per_class[labels]
  if importance is not None:
    effective = effective * np.asarray(importance, np.float32)
  return effective.astype(np.float32)


class EffectiveWeights:
  """Adds the effective weights to a state's flat tables at a step (for snapshots)."""

  def __init__(self, labels: np.ndarray, class_weighting: Callable, steps_per_epoch: int,
               importance: np.ndarray | None = None):
    self.labels, self.class_weighting = np.asarray(labels), class_weighting
    self.steps_per_epoch, self.importance = steps_per_epoch, importance

  def class_weight(self, step: int) -> np.ndarray:
    """The class weights [C] the step before `step` trained with (ones before a deferred
    switch): at the end of epoch e, those of epoch e."""
    return np.asarray(self.class_weighting(max(step - 1, 0) // self.steps_per_epoch),
                      np.float32)

  def __call__(self, tables: Mapping[str, np.ndarray], step: int) -> dict[str, np.ndarray]:
    class_weight = self.class_weight(step)
    return {**tables, EFFECTIVE_CLASS_WEIGHT: class_weight,
            EFFECTIVE_WEIGHT: effective_weights(tables, self.labels, class_weight,
                                                self.importance)}
