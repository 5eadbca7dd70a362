"""Early stopping on a validation metric: training stops `patience` epochs after the best
epoch, the rate may be lowered on a plateau, the run ends with the best epoch's weights, and
a relaunch trains no further."""

import json

import keras
import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from framework import data as data_lib
from framework.config import load_experiment
from framework.errors import ConfigError
from framework.evaluation.evaluator import Evaluator
from framework.runs import files
from framework.runs.reader import FinishedRun
from framework.runs.rundir import RunDir
from framework.train import experiment
from framework.train.actions import Evaluation, LoopEnd, SelectBest
from framework.train.early_stopping import EarlyStopping
from tests.test_csv_columns import write_mixed
from tests.test_tabular import TABULAR
from tests.test_launch import launch_here

PATIENCE = 3


@pytest.mark.slow
def test_the_restored_model_is_the_best_epochs(tmp_path):
  write_mixed(tmp_path / "mixed.csv")
  args = (f"--config={TABULAR}", f"--config.data.path={tmp_path / 'mixed.csv'}",
          "--config.data.drop_columns=('id',)", "--config.train.epochs=60",
          f"--config.train.early_stopping.patience={PATIENCE}",
          "--config.train.early_stopping.lr_factor=0.5",
          "--config.train.early_stopping.lr_patience=1",
          "--config.eval.select_best=balanced_accuracy")
  workdir = tmp_path / "run"
  result = launch_here(*args, workdir=workdir)
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((workdir / "results.json").read_text())
  stopping = results["early_stopping"]
  assert stopping["stopped_early"], stopping  # 60 epochs of a tiny table overfit
  assert stopping["stopped_epoch"] - stopping["best_epoch"] == PATIENCE
  assert results["epochs"] == stopping["stopped_epoch"]
  # the rate halved 1 and 2 epochs after the best, and the checkpoint keeps the lowered rate
  best, reductions = stopping["best_epoch"], stopping["lr_reduced_epochs"]
  assert reductions[-2:] == [best + 1, best + 2], stopping
  checkpoint = tf.train.load_checkpoint(str(workdir / "checkpoints"))
  rate = [checkpoint.get_tensor(name) for name in checkpoint.get_variable_to_shape_map()
          if "learning_rate" in name]
  assert rate == [np.float32(1e-3 * 0.5 ** len(reductions))]

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
  # the best model kept beside it (the first of the tied best epochs) scores the same
  best_json = json.loads((workdir / "best.json").read_text())
  assert best_json["validation"]["balanced_accuracy"] == pytest.approx(
      stopping["validation"]["balanced_accuracy"], abs=1e-12)
  best_model = FinishedRun(str(workdir)).trained_model(files.BEST_MODEL)
  assert Evaluator(best_model, 1000, bundle.class_counts, transform=bundle.transform).evaluate(
      bundle.val)["balanced_accuracy"] == pytest.approx(
          best_json["validation"]["balanced_accuracy"], abs=1e-12)

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


class _Scripted:
  """A validation split whose metric follows a script, one value per evaluation."""

  def __init__(self, values):
    self.values, self.calls = iter(values), 0

  def evaluate(self, split):
    del split
    self.calls += 1
    return {"balanced_accuracy": next(self.values)}


def _stopping(rundir, values, optimizer, **kwargs):
  model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
  validation = Evaluation(_Scripted(values), None, 0)
  kwargs = {"patience_steps": 4, "restore_best": True, "lr_factor": 0.5,
            "lr_patience_steps": 2, **kwargs}
  return EarlyStopping(model, validation, "balanced_accuracy", evaluations=(validation,),
                       rundir=rundir, optimizer=optimizer, **kwargs)


def _rate(optimizer):
  return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def test_the_rate_drops_after_each_plateau_and_the_state_survives_a_relaunch(tmp_path):
  optimizer = keras.optimizers.Adam(1.0)
  values = [0.5, 0.6, 0.6, 0.55, 0.55, 0.7, 0.65, 0.65, 0.65, 0.65]
  action = _stopping(RunDir(str(tmp_path)), values[:6], optimizer)
  rates = []
  for step in range(1, 7):
    action.run(LoopEnd(step=step, loop=step, final=False, loss=0.0))
    rates.append(_rate(optimizer))
  # best at 3 (a tie moves it later); 2 steps later the rate halves; 6 is a new best
  assert rates == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
  assert action.state["lr_reduced_steps"] == [5] and action.state["best_step"] == 6

  relaunched = _stopping(RunDir(str(tmp_path)), values[6:], optimizer)
  for step in range(7, 11):
    relaunched.run(LoopEnd(step=step, loop=step, final=False, loss=0.0))
    rates.append(_rate(optimizer))
    if relaunched.stop_training:
      break
  # 2 steps after the best the rate halves again; 4 steps after it training stops
  assert rates[6:] == [0.5, 0.25, 0.25, 0.25]
  assert relaunched.state["lr_reduced_steps"] == [5, 8]
  assert relaunched.state["stopped_step"] == 10
  summary = relaunched.summary(steps_per_epoch=2, final_step=10)
  assert summary["lr_reduced_epochs"] == [2.5, 4.0] and summary["best_epoch"] == 3.0


def test_a_factor_of_one_never_touches_the_rate(tmp_path):
  optimizer = keras.optimizers.Adam(1.0)
  action = _stopping(RunDir(str(tmp_path)), [0.5] + [0.4] * 5, optimizer, lr_factor=1.0)
  for step in range(1, 6):
    action.run(LoopEnd(step=step, loop=step, final=False, loss=0.0))
  assert _rate(optimizer) == 1.0 and action.state["lr_reduced_steps"] == []
  assert action.state["stopped_step"] == 5


def test_the_last_step_neither_stops_nor_lowers_the_rate(tmp_path):
  optimizer = keras.optimizers.Adam(1.0)
  action = _stopping(RunDir(str(tmp_path)), [0.5, 0.4, 0.4], optimizer)
  for step in range(1, 4):
    action.run(LoopEnd(step=step, loop=step, final=step == 3, loss=0.0))
  assert _rate(optimizer) == 1.0 and action.state["stopped_step"] is None


def test_lowering_a_scheduled_rate_is_one_line(tmp_path):
  write_mixed(tmp_path / "mixed.csv")
  config = load_experiment(TABULAR).get_config()
  config.data.path, config.data.drop_columns = str(tmp_path / "mixed.csv"), ("id",)
  config.train.early_stopping.lr_factor = 0.1
  config.optimizer.schedule = "cosine"
  with pytest.raises(ConfigError, match=r"^train.early_stopping.lr_factor=0.1 needs a constant "
                     "learning rate, not optimizer.schedule='cosine'"):
    experiment.build(config)


def test_best_model_and_early_stopping_share_one_validation_per_step(tmp_path):
  rundir = RunDir(str(tmp_path))
  action = _stopping(rundir, [0.5, 0.6, 0.4, 0.4, 0.4], keras.optimizers.Adam(1.0),
                     lr_factor=1.0, patience_steps=2)
  saved = []
  select_best = SelectBest(action.validation, "balanced_accuracy", rundir,
                           lambda: saved.append(True))
  scripted = action.validation.evaluator
  for step in range(1, 5):
    end = LoopEnd(step=step, loop=step, final=False, loss=0.0, metrics={})
    select_best.run(end)
    action.run(end)
    if action.stop_training:
      break
  # one evaluation per step for both; the restore at step 4 makes a later ask evaluate anew
  assert scripted.calls == 4 and len(saved) == 2 and action.state["stopped_step"] == 4
  assert action.validation(4) == {"balanced_accuracy": 0.4} and scripted.calls == 5
