"""The tabular experiment on UCI tables of R's mlbench package, beside scikit-learn baselines.

    apt-get install r-cran-mlbench && pip install pyreadr pandas
    python -m framework.bench.mlbench_tables --tables=glass,pima,sonar,satellite,shuttle

Each table is written once as a csv (its label column as R names it; Pima is
PimaIndiansDiabetes2, with NA where a measurement is missing), then, per seed (the data
seed: test split, validation split, initialisation), rows of balanced accuracy on the same
seeded stratified test split: `experiments/tabular.py` with early stopping (its defaults),
the same with the rate lowered x0.1 after 10 epochs of plateau (ending with the best or with
the last weights), the same without a validation split for 30 and for 200 epochs
(`--runs` picks rows by the names below, spaces as underscores), and scikit-learn's
LogisticRegression(class_weight="balanced") and HistGradientBoostingClassifier(
class_weight="balanced"), both fitted on the whole training pool as the framework encodes it
(medians, indicators, one-hot, standardisation).
"""

from __future__ import annotations

import os
import tempfile
import time

from absl import app, flags
import numpy as np

from framework.config import load_experiment, set_field
from framework.data import build
from framework.evaluation.metrics import classification_metrics

MLBENCH_DATA = "/usr/lib/R/site-library/mlbench/data"
TABLES = {  # name: (R data set, label column)
    "glass": ("Glass", "Type"), "pima": ("PimaIndiansDiabetes2", "diabetes"),
    "satellite": ("Satellite", "classes"), "shuttle": ("Shuttle", "Class"),
    "sonar": ("Sonar", "Class"),
}
PLATEAU = {"train.early_stopping.lr_factor": 0.1, "train.early_stopping.lr_patience": 10}
RUNS = {  # name: config overrides of experiments/tabular.py
    "early stopping": {},
    "plateau": PLATEAU,
    "plateau last weights": {**PLATEAU, "train.early_stopping.restore_best": False},
    "30 epochs": {"data.val_fraction": 0.0, "train.early_stopping.metric": "",
                  "train.epochs": 30, "train.eval_every_epochs": 30},
    "200 epochs": {"data.val_fraction": 0.0, "train.early_stopping.metric": "",
                   "train.epochs": 200, "train.eval_every_epochs": 200},
}


def _row_id(name: str) -> str:
  """A row's name as `--runs` and its workdirs spell it."""
  return name.replace(" ", "_")


ROW_IDS = [*map(_row_id, RUNS), "baselines"]

flags.DEFINE_list("tables", ["glass", "pima", "sonar", "satellite", "shuttle"],
                  f"of {', '.join(TABLES)}")
flags.DEFINE_list("seeds", ["0", "1", "2"], "data and model seeds")
flags.DEFINE_list("runs", ROW_IDS, "rows to run, of " + ", ".join(ROW_IDS))
flags.DEFINE_string("rda_dir", MLBENCH_DATA, "where r-cran-mlbench keeps its .rda files")
flags.DEFINE_string("out", os.path.join(tempfile.gettempdir(), "mlbench_tables"),
                    "csv files and workdirs")
FLAGS = flags.FLAGS


def write_csv(table: str, rda_dir: str, out: str) -> str:
  """TABLE.csv in `out` from mlbench's .rda (read with pyreadr); returns its path."""
  import pyreadr  # pylint: disable=g-import-not-at-top
  path = os.path.join(out, f"{table}.csv")
  if not os.path.exists(path):
    name = TABLES[table][0]
    frame = pyreadr.read_r(os.path.join(rda_dir, f"{name}.rda"))[name]
    frame.to_csv(path, index=False)
  return path


def _config(path: str, label: str, seed: int, overrides: dict):
  config = load_experiment("tabular").get_config()
  config.data.path, config.data.label_column = path, label
  config.data.seed = config.seed = seed
  for dotted, value in overrides.items():
    set_field(config, dotted, value)
  return config


def _baselines(config) -> dict[str, tuple[float, float]]:
  """Balanced accuracy and time to fit and predict (s) of the scikit-learn baselines on the
  run's split."""
  from sklearn.ensemble import HistGradientBoostingClassifier  # pylint: disable=g-import-not-at-top
  from sklearn.linear_model import LogisticRegression  # pylint: disable=g-import-not-at-top
  config.data.val_fraction = 0.0
  data = build(config.data)
  x, y = data.train.features, data.train.labels
  models = {"logistic regression": LogisticRegression(class_weight="balanced", max_iter=5000),
            "HistGradientBoosting": HistGradientBoostingClassifier(
                class_weight="balanced", random_state=config.seed)}
  scores = {}
  for name, model in models.items():
    start = time.time()
    probabilities = model.fit(x, y).predict_proba(data.test.features)  # argmax: predicted
    scores[name] = (classification_metrics(data.test.labels, probabilities,
                                           data.num_classes)["balanced_accuracy"],
                    time.time() - start)
  return scores


def main(argv) -> None:
  del argv
  for flag, given, allowed in (("tables", FLAGS.tables, list(TABLES)),
                               ("runs", FLAGS.runs, ROW_IDS)):
    unknown = [name for name in given if name not in allowed]
    if unknown:
      raise app.UsageError(f"--{flag} has {unknown[0]!r}; allowed: {', '.join(allowed)}")
  from framework.train import run  # pylint: disable=g-import-not-at-top
  os.makedirs(FLAGS.out, exist_ok=True)
  rows = {}
  for table in FLAGS.tables:
    path = write_csv(table, FLAGS.rda_dir, FLAGS.out)
    for seed in map(int, FLAGS.seeds):
      for name, overrides in RUNS.items():
        if _row_id(name) not in FLAGS.runs:
          continue
        config = _config(path, TABLES[table][1], seed, overrides)
        workdir = os.path.join(FLAGS.out, f"{table}-{_row_id(name)}-{seed}")
        start = time.time()
        results = run(config, workdir, verbose=False)
        epochs = results["epochs"]
        rows.setdefault((table, name), []).append(results["final"]["balanced_accuracy"])
        print(f"{table} seed {seed} {name}: {rows[(table, name)][-1]:.3f} ({epochs:g} "
              f"epochs, {time.time() - start:.0f} s)", flush=True)
      baselines = (_baselines(_config(path, TABLES[table][1], seed, {}))
                   if "baselines" in FLAGS.runs else {})
      for name, (score, seconds) in baselines.items():
        rows.setdefault((table, name), []).append(score)
        print(f"{table} seed {seed} {name}: {score:.3f} ({seconds:.0f} s)", flush=True)
  print("\n| table | run | balanced accuracy (mean ± std over seeds) |\n|---|---|---|")
  for (table, name), scores in rows.items():
    print(f"| {table} | {name} | {np.mean(scores):.3f} ± {np.std(scores):.3f} |")


if __name__ == "__main__":
  app.run(main)
