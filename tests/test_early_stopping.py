"""Early stopping on a validation metric: training stops `patience` epochs after the best
epoch, the run ends with the best epoch's weights, and a relaunch trains no further."""

import json

import ml_collections
import numpy as np
import pytest

from framework import data as data_lib
from framework.config import load_experiment
from framework.errors import ConfigError
from framework.evaluation.evaluator import Evaluator
from framework.runs.reader import FinishedRun
from framework.train import experiment
from tests.test_csv_columns import write_mixed
from tests.test_tabular import TABULAR
from tests.test_launch import launch_here

PATIENCE = 3


@pytest.mark.slow
def test_the_restored_model_is_the_best_epochs(tmp_path):
  write_mixed(tmp_path / "mixed.csv")
  args = (f"--config={TABULAR}", f"--config.data.path={tmp_path / 'mixed.csv'}",
          "--config.data.drop_columns=('id',)", "--config.train.epochs=60",
          f"--config.train.early_stopping.patience={PATIENCE}")
  workdir = tmp_path / "run"
  result = launch_here(*args, workdir=workdir)
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((workdir / "results.json").read_text())
  stopping = results["early_stopping"]
  assert stopping["stopped_early"], stopping  # 60 epochs of a tiny table overfit
  assert stopping["stopped_epoch"] - stopping["best_epoch"] == PATIENCE
  assert results["epochs"] == stopping["stopped_epoch"]

  # the exported model's validation metric is the best one recorded
  bundle = data_lib.build(ml_collections.ConfigDict(results["config"]).data)
  trained = FinishedRun(str(workdir)).model().layers[-1]
  validation = Evaluator(trained, 1000, bundle.class_counts,
                         transform=bundle.transform).evaluate(bundle.val)
  assert validation["balanced_accuracy"] == pytest.approx(
      stopping["validation"]["balanced_accuracy"], abs=1e-12)
  # ... and its test metrics are those the history holds for the best epoch
  at_best = next(r for r in results["history"] if r["epoch"] == stopping["best_epoch"])
  assert results["final"]["balanced_accuracy"] == pytest.approx(at_best["balanced_accuracy"])
  assert results["final"]["accuracy"] == pytest.approx(at_best["accuracy"])

  relaunched = launch_here(*args, workdir=workdir)
  assert relaunched.returncode == 0, relaunched.stderr[-3000:]
  again = json.loads((workdir / "results.json").read_text())
  assert again["step"] == results["step"] and again["final"] == results["final"]


def test_early_stopping_without_a_validation_split_is_one_line(tmp_path):
  write_mixed(tmp_path / "mixed.csv")
  config = load_experiment(TABULAR).get_config()
  config.data.path, config.data.drop_columns = str(tmp_path / "mixed.csv"), ("id",)
  config.data.val_fraction = 0.0
  with pytest.raises(ConfigError, match="train.early_stopping.metric='balanced_accuracy' "
                     "needs a clean validation split; set data.val_fraction"):
    experiment.build(config)
