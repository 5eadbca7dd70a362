"""Cross-validation folds of the training split (data.folds): which fold each example is in.

A run with data.folds.count = k trains on every fold but data.folds.held_out; predicting
the held-out fold with that run's model gives out-of-sample probabilities, and k runs
(held_out = 0..k-1) give them for every training example.
"""

from __future__ import annotations

import numpy as np

from framework.data.protocol import FOLDS_STREAM, rank_within_class, rng_for


def fold_of(labels: np.ndarray, seed: int, count: int) -> np.ndarray:
  """int [N]: the fold (0..count-1) of each example, stratified by its given label: each
  class, in a seeded permutation, dealt round-robin, so fold sizes per class differ by at
  most one. Depends only on the labels, the seed and the count."""
  labels = np.asarray(labels, np.int64)
  order = rng_for(seed, FOLDS_STREAM).permutation(len(labels))
  num_classes = int(labels.max()) + 1 if len(labels) else 0
  folds = np.empty(len(labels), np.int64)
  folds[order] = rank_within_class(labels[order], num_classes) % count
  return folds
