"""Which training labels are likely wrong: every example ranked, from a finished run.

Two signals, each low for a suspect label: the signal the run's rule declares
(`framework.weights.Signal`: l2rw's `kept`, ELR's `agreement`, otherwise `weight` averaged
over the epoch snapshots) and the model's probability of the given label (in sample, from
the exported model). The ranking score is chosen (`score`, `inspect_run --label_score`):
`signal`, `probability`, or `combined` (the mean of their rank percentiles); `auto`, the
default, is the rule's signal where the rule has a non-constant one and the probability
otherwise (a plain run). The default comes from a measurement, not from the run: the
validation labels are clean and the signal exists only for training examples, so no split
of a run can tell which score ranks its wrong labels best. `python -m
framework.studies.label_issues` prints every score's AUROC against the known noise: at 40%
symmetric noise on Fashion-MNIST the combination never ranked better than the better of
the two alone, and the signal was the better one for elr and mwnet, the probability for
l2rw (README, "Finding the wrong labels")."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Collection

import numpy as np
from scipy.stats import rankdata

from framework.errors import ConfigError, one_line
from framework.runs.reader import FinishedRun

if TYPE_CHECKING:
  from framework.data import DataBundle, Split

SCORES = ("auto", "signal", "probability", "combined")


def predicted_probabilities(run: FinishedRun, split: Split,
                            data: DataBundle | None = None) -> np.ndarray:
  """The softmax of the run's final model on `split` [n, C], a split of `data` (default:
  the run's data, rebuilt from its config and checked against the run's by
  `FinishedRun.data`)."""
  from framework.evaluation.evaluator import run_evaluator  # pylint: disable=g-import-not-at-top
  logits = run_evaluator(run.trained_model(), run.config, data or run.data).logits(split)
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


def offered_scores(suspect: np.ndarray) -> tuple[str, ...]:
  """The scores a run offers: `probability`; with a non-constant `suspect` (the rule's
  signal, turned so that high marks a likely wrong label) also `signal` and `combined`."""
  return ("probability", "signal", "combined") if np.ptp(suspect) > 0 else ("probability",)


def label_scores(p_given: np.ndarray, suspect: np.ndarray) -> dict[str, np.ndarray]:
  """Every score offered (`offered_scores`) as rank percentiles, 1 = the most suspect:
  `probability` (a low probability of the given label), `signal` (a high `suspect`) and
  `combined` (the mean of the two)."""
  scores = {"probability": _percentile_rank(-p_given)}
  if "signal" in offered_scores(suspect):
    scores["signal"] = _percentile_rank(suspect)
    scores["combined"] = 0.5 * (scores["probability"] + scores["signal"])
  return scores


def chosen_score(score: str, available: Collection[str]) -> str:
  """The score `score` names among the `available` ones: `auto` is the rule's signal when
  the run has one, the probability otherwise; one-line ConfigError for any other name or
  for a score the run does not offer."""
  if score not in SCORES:
    raise ConfigError(f"label_score={score!r} is not a score; allowed: {', '.join(SCORES)}")
  if score == "auto":
    return "signal" if "signal" in available else "probability"
  if score not in available:
    raise ConfigError(f"label_score={score!r}: the run's rule signal is constant (a plain "
                      f"run), so it ranks nothing; allowed here: auto, probability")
  return score


def write_label_issues(run: FinishedRun, output: str, table: str | None = None,
                       score: str = "auto") -> dict:
  """Writes every training example, most suspect first by `score` (see `chosen_score`;
  ties broken by the probability, then the index), the rule's signal read from its
  declared table or from `table` (its last snapshot, high = clean); returns a summary:
  rows, signal (described), score (the name used), scores (every score offered), order."""
  from framework.weights import Signal  # pylint: disable=g-import-not-at-top
  signal = Signal(table, averaged=False) if table else run.signal
  values = run.table(signal.table, signal.averaged)
  described = signal.table + (f" (averaged over {len(run.snapshots())} snapshots)"
                              if signal.averaged else " (final)")
  suspect = signal.suspicion(values)
  used = chosen_score(score, offered_scores(suspect))  # before the model runs
  probabilities = predicted_probabilities(run, run.data.train)
  sources = _source_columns(run)
  labels, names = run.data.train.labels, run.data_info["class_names"]
  p_given = probabilities[np.arange(len(labels)), labels]
  scores = label_scores(p_given, suspect)
  ranked = scores[used]
  order = np.lexsort((np.arange(len(ranked)), -scores["probability"], -ranked))
  predicted = probabilities.argmax(1)
  try:
    f = open(output, "w", newline="")
  except OSError as e:
    raise ConfigError(f"the label issues file {output!r} cannot be written "
                      f"({e.strerror or one_line(e)})") from None
  with f:
    writer = csv.writer(f)
    writer.writerow(["rank", "index", "given_label", "given_class", "predicted_label",
                     "predicted_class", "rule_signal", "p_given", "score", "score_by"]
                    + list(sources))
    for rank, i in enumerate(order, start=1):
      writer.writerow([rank, i, labels[i], names[labels[i]], predicted[i], names[predicted[i]],
                       f"{values[i]:.6g}", f"{p_given[i]:.6g}", f"{ranked[i]:.6f}", used]
                      + [column[i] for column in sources.values()])
  summary = {"rows": len(order), "signal": described, "score": used, "scores": scores,
             "order": order}
  if run.noise_mask is not None:
    top = order[:max(1, len(order) // 20)]
    summary["noisy_in_top_5_percent"] = float(run.noise_mask[top].mean())
  return summary
