"""Tracked samples: a small, fixed set of training examples whose weight is followed over time.

The set is chosen once, deterministically, from the training labels: the first
`per_class` clean examples of each class (by index), the first `max_noisy` examples whose
label was corrupted when noise was injected, and any explicit indices. Each tracked
example's effective weight is one labelled row of a heatmap (tracked examples x summary
steps) whose rows are grouped by class, clean before noisy: one image for all of them, not
one chart each, so dashboards stay readable however many examples and runs there are.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from framework.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class TrackedSet:
  """Indices of the tracked examples (in heatmap row order), their labels and noise."""
  indices: np.ndarray   # int64 [T], rows sorted by (label, noisy, index)
  labels: np.ndarray    # int32 [T], observed labels
  noisy: np.ndarray     # bool [T]

  def to_json(self) -> list[dict]:
    return [{"index": int(i), "label": int(l), "noisy": bool(n)}
            for i, l, n in zip(self.indices, self.labels, self.noisy)]


def choose_tracked(labels: np.ndarray, noise_mask: np.ndarray | None, num_classes: int,
                   per_class: int, max_noisy: int, explicit: Sequence[int] = ()) -> TrackedSet:
  """Chooses the tracked set; the same labels and settings always give the same set."""
  labels = np.asarray(labels)
  n = labels.size
  noisy_mask = np.zeros(n, bool) if noise_mask is None else np.asarray(noise_mask, bool)
  bad = [i for i in explicit if not (isinstance(i, (int, np.integer)) and 0 <= i < n)]
  if bad:
    raise ConfigError(f"logging.tracked_indices={tuple(explicit)!r} has {bad[0]!r}; "
                      f"allowed: ints in [0, {n})")
  chosen = set()
  for c in range(num_classes):
    chosen.update(np.flatnonzero((labels == c) & ~noisy_mask)[:per_class].tolist())
  chosen.update(np.flatnonzero(noisy_mask)[:max_noisy].tolist())
  chosen.update(int(i) for i in explicit)
  order = sorted(chosen, key=lambda i: (int(labels[i]), bool(noisy_mask[i]), i))
  indices = np.asarray(order, np.int64)
  return TrackedSet(indices, labels[indices].astype(np.int32), noisy_mask[indices])


class TrajectoryRecorder:
  """Accumulates the tracked weights at each summary step, in memory, for the heatmap.

  The heatmap keeps at most `max_columns` columns (evenly spaced summary steps, always
  including the latest), so its width stays bounded on long runs.
  """

  def __init__(self, tracked: TrackedSet, max_columns: int = 256):
    self.tracked = tracked
    self.max_columns = max_columns
    self.steps: list[int] = []
    self.columns: list[np.ndarray] = []

  def record(self, step: int, weights: np.ndarray) -> None:
    """Stores this step's weights of the tracked examples [T], in the set's order
    (replacing those of a step recorded again)."""
    values = np.asarray(weights, np.float32)
    if self.steps and self.steps[-1] == step:
      self.columns[-1] = values
    else:
      self.steps.append(int(step))
      self.columns.append(values)

  def matrix(self) -> np.ndarray:
    """Tracked weights [T, S] over the (sub-sampled) summary steps so far."""
    return np.stack([self.columns[i] for i in self._kept()], axis=1)

  def kept_steps(self) -> list[int]:
    """The summary steps of `matrix()`'s columns."""
    return [self.steps[i] for i in self._kept()]

  def _kept(self) -> np.ndarray:
    keep = np.arange(len(self.columns))
    if keep.size > self.max_columns:
      keep = np.unique(np.linspace(0, keep.size - 1, self.max_columns).round().astype(int))
    return keep


def row_labels(tracked: TrackedSet, class_names: Sequence[str],
               clean_labels: np.ndarray | None = None) -> list[str]:
  """'<class> #<index>' per tracked example; noisy ones '<observed> #<index> (noisy, was
  <clean class>)'."""
  labels = []
  for index, label, noisy in zip(tracked.indices, tracked.labels, tracked.noisy):
    text = f"{class_names[label]} #{index}"
    if noisy:
      was = "" if clean_labels is None else f", was {class_names[clean_labels[index]]}"
      text += f" (noisy{was})"
    labels.append(text)
  return labels


def row_breaks(tracked: TrackedSet) -> list[int]:
  """Rows above which the (class, clean / noisy) group changes."""
  groups = list(zip(tracked.labels.tolist(), tracked.noisy.tolist()))
  return [r for r in range(1, len(groups)) if groups[r] != groups[r - 1]]


def heatmap_description(tracked: TrackedSet, labels: Sequence[str]) -> str:
  """The trajectory heatmap's description: what its rows and columns are."""
  return ("Effective weight (class weight x importance x rule) of the tracked training "
          "examples over the summary steps (columns, left to right). Rows grouped by "
          "observed class, clean before noisy (white lines between groups): "
          + "; ".join(labels) + ".")
