"""Which training labels are likely wrong: every example ranked, from a finished run.

Two signals, each low for a suspect label: the signal the run's rule declares
(`framework.weights.Signal`: l2rw's `kept`, ELR's `agreement`, otherwise `weight` averaged
over the epoch snapshots) and the model's probability of the given label (in sample, from
the exported model). The score is the mean of their rank percentiles (1 = the most
suspect), or the probability alone when the rule's table is constant (a plain run).
"""

from __future__ import annotations

import csv

import numpy as np
from scipy.stats import rankdata

from framework.errors import ConfigError, one_line
from framework.runs.reader import FinishedRun


def _training_probabilities(run: FinishedRun) -> np.ndarray:
  """The softmax of the final model on the training split [N, C], the split rebuilt from
  the run's config (and checked against the run's data by `FinishedRun.data`)."""
  from framework.evaluation.evaluator import run_evaluator  # pylint: disable=g-import-not-at-top
  train = run.data.train
  logits = run_evaluator(run.trained_model(), run.config, run.data).logits(train)
  probabilities = np.exp(logits - logits.max(1, keepdims=True))
  return probabilities / probabilities.sum(1, keepdims=True)


def _source_columns(run: FinishedRun) -> dict[str, list]:
  """Where each training example is in the user's files: `path` (image sources), `row`
  (the csv line number, header = line 1) and `label_text` (the label as the file has it)."""
  train = run.data.train
  paths = getattr(train.examples, "paths", None)
  columns = {} if paths is None else {"path": list(paths)}
  if train.source_rows is not None:
    columns["row"] = train.source_rows.tolist()
    columns["label_text"] = run.data.label_texts(train).tolist()
  return columns


def _percentile_rank(values: np.ndarray) -> np.ndarray:
  """Rank of each value in [0, 1] (ties share their mean rank)."""
  return (rankdata(values, method="average") - 1.0) / max(len(values) - 1, 1)


def suspicion(p_given: np.ndarray, suspect: np.ndarray) -> np.ndarray:
  """The combined score: high for a low probability of the given label and a high
  `suspect` (the rule's signal, turned so that high marks a likely wrong label)."""
  by_probability = _percentile_rank(-p_given)
  if np.ptp(suspect) == 0:
    return by_probability
  return 0.5 * (by_probability + _percentile_rank(suspect))


def write_label_issues(run: FinishedRun, output: str, table: str | None = None) -> dict:
  """Writes every training example, most suspect first, ranked by the rule's signal or by
  `table` (its last snapshot, high = clean); returns a summary."""
  from framework.weights import Signal  # pylint: disable=g-import-not-at-top
  signal = Signal(table, averaged=False) if table else run.signal
  values = run.table(signal.table, signal.averaged)
  described = signal.table + (f" (averaged over {len(run.snapshots())} snapshots)"
                              if signal.averaged else " (final)")
  probabilities, sources = _training_probabilities(run), _source_columns(run)
  labels, names = run.data.train.labels, run.data_info["class_names"]
  p_given = probabilities[np.arange(len(labels)), labels]
  score = suspicion(p_given, signal.suspicion(values))
  order = np.lexsort((np.arange(len(score)), -score))
  predicted = probabilities.argmax(1)
  try:
    f = open(output, "w", newline="")
  except OSError as e:
    raise ConfigError(f"the label issues file {output!r} cannot be written "
                      f"({e.strerror or one_line(e)})") from None
  with f:
    writer = csv.writer(f)
    writer.writerow(["rank", "index", "given_label", "given_class", "predicted_label",
                     "predicted_class", "rule_signal", "p_given", "score"] + list(sources))
    for rank, i in enumerate(order, start=1):
      writer.writerow([rank, i, labels[i], names[labels[i]], predicted[i], names[predicted[i]],
                       f"{values[i]:.6g}", f"{p_given[i]:.6g}", f"{score[i]:.6f}"]
                      + [column[i] for column in sources.values()])
  summary = {"rows": len(order), "signal": described, "order": order, "score": score}
  if run.noise_mask is not None:
    top = order[:max(1, len(order) // 20)]
    summary["noisy_in_top_5_percent"] = float(run.noise_mask[top].mean())
  return summary
