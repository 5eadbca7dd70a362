"""`run(config, workdir)`: build the experiment, wire the controller's actions, write results."""

from __future__ import annotations

import dataclasses
import json
import os

import ml_collections
import numpy as np

from framework.train import actions as actions_lib
from framework.train import experiment as experiment_lib
from framework.train.controller import Controller
from framework.errors import ConfigError
from framework.evaluation.evaluator import Evaluator, run_evaluator
from framework.runs.export import MODEL_FILE, export
from framework.train.components import effective_kwargs
from framework.summaries import Board, OnlyMoving, tag_name, tracking
from framework.summaries import actions as summaries
from framework.evaluation.metrics import format_per_class_table
from framework.train.optimizers import current_learning_rate
from framework.train.preemption import StopOnSignal
from framework.train.schedule import laid_out_over_the_run
from framework.runs.rundir import RunDir
from framework.weights.effective import EffectiveWeights
from framework.runs import files

BEST_FILE = files.BEST_MODEL
CHARTED = files.CHARTED  # the TensorBoard families that have moved (kept across relaunches)


def _start_workdir(exp: experiment_lib.Experiment, rundir: RunDir,
                   tracked: tracking.TrackedSet) -> None:
  """The run's first writes: config (once), noise mask (once), labels, tracked set."""
  rundir.create()
  if not rundir.exists(files.CONFIG):
    rundir.write_text(files.CONFIG, exp.config.to_json_best_effort(indent=1))
  train = exp.data.train
  if train.noise_mask.any() and not rundir.exists(files.NOISE):
    rundir.write_arrays(files.NOISE, noise_mask=train.noise_mask, labels=train.labels,
                        clean_labels=train.clean_labels)
  rundir.write_array(files.LABELS, np.asarray(train.labels))
  rundir.write_json(files.DATA, data_description(exp.data))
  rundir.write_json(files.TRACKED, {"class_names": list(exp.data.class_names),
                                     "tracked": tracked.to_json()})


def data_description(data) -> dict:
  """What predicting on new inputs needs to know of the data (data.json)."""
  return {"class_names": list(data.class_names), "input_shape": list(data.input_shape),
          "transform": dataclasses.asdict(data.transform),
          "feature_names": list(data.info.get("feature_names") or ()),
          "protocol": list(data.info.get("protocol") or ())}


def choose_tracked(exp: experiment_lib.Experiment) -> tracking.TrackedSet:
  log, train = exp.config.logging, exp.data.train
  return tracking.choose_tracked(
      train.labels, train.noise_mask if train.noise_mask.any() else None,
      [tag_name(n) for n in exp.data.class_names], log.tracked_per_class,
      log.tracked_noisy, tuple(log.tracked_indices))


def effective_weights(exp: experiment_lib.Experiment) -> EffectiveWeights:
  train = exp.data.train
  return EffectiveWeights(train.labels, exp.trainer.class_weighting, exp.steps_per_epoch,
                          train.importance)


def standard_actions(exp: experiment_lib.Experiment, rundir: RunDir, board: Board,
                     evaluate: actions_lib.Evaluate, tracked: tracking.TrackedSet,
                     verbose: bool = True) -> list:
  """The actions of a run, in order: evaluate, history, TensorBoard, snapshots, progress."""
  data, log, spe = exp.data, exp.config.logging, exp.steps_per_epoch
  effective = effective_weights(exp)
  charted = rundir.read_json(CHARTED) if rundir.exists(CHARTED) else []
  row_labels = tracking.row_labels(tracked, data.class_names, data.train.clean_labels)
  progress = [actions_lib.Progress(exp.total_steps, spe)] if verbose else []
  return [
      evaluate,
      actions_lib.History(rundir, spe),
      summaries.TrainingSummaries(
          board, exp.state, effective, lambda: current_learning_rate(exp.optimizer),
          lambda: int(exp.trainer.skipped.numpy()), tracked, row_labels,
          log.summary_every_loops, log.heatmap_max_columns, OnlyMoving(charted),
          lambda live: rundir.write_json(CHARTED, live)),
      summaries.EvalSummaries(board, data.class_names),
      actions_lib.Snapshots(rundir, exp.state, log.snapshot_every_epochs * spe, effective),
  ] + progress


def _find(actions: list, kind: type):
  return next(action for action in actions if isinstance(action, kind))


RESUMABLE = ("train.epochs", "logging.", "eval.", "strategy.")  # may change on a relaunch


def _flat(tree: dict, prefix: str = "") -> dict:
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict) and key != "kwargs":
      out.update(_flat(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = value
  return out


def relaunch_changes(config: ml_collections.ConfigDict, rundir: RunDir) -> dict:
  """{field: [before, now]} of a relaunch's allowed changes; any other change is refused.

  `train.epochs` (to extend a run), `logging.*`, `eval.*` and `strategy.*` (any number of
  devices trains the same steps) may change; a different loss, rule, model, data or
  learning rate would silently switch methods mid-run.
  """
  if not rundir.exists(files.CONFIG):
    return {}
  before = _flat(rundir.read_json(files.CONFIG))
  now = _flat(json.loads(config.to_json_best_effort()))
  changed = {k: [before.get(k), now.get(k)] for k in sorted(set(before) | set(now))
             if before.get(k) != now.get(k)}
  refused = [k for k in changed if not k.startswith(RESUMABLE)]
  if refused:
    shown = ", ".join(f"{k} ({changed[k][0]!r} -> {changed[k][1]!r})" for k in refused[:4])
    raise ConfigError(f"--workdir={rundir.path!r} holds a run with a different config: "
                      f"{shown}{' ...' if len(refused) > 4 else ''}; only train.epochs, "
                      "logging.*, eval.* and strategy.* may change on a relaunch")
  bound = laid_out_over_the_run(config)
  if "train.epochs" in changed and bound:
    raise ConfigError(f"train.epochs {changed['train.epochs'][0]} -> "
                      f"{changed['train.epochs'][1]}: the run is laid out over its epochs "
                      f"({', '.join(bound)}), so its length cannot change on a relaunch; start "
                      "a new workdir")
  return changed


def run(config: ml_collections.ConfigDict, workdir: str, verbose: bool = True) -> dict:
  """Trains and evaluates the experiment of `config` in `workdir`, resuming if it can.

  One run per workdir (a lock); SIGTERM / SIGINT stop it at the next step with a
  checkpoint (`Preempted`). Returns the final results (also in `workdir/results.json`).
  """
  exp = experiment_lib.build(config)  # every validation happens here, before any write
  return run_guarded(exp, workdir, verbose)


def run_guarded(exp: experiment_lib.Experiment, workdir: str, verbose: bool = True) -> dict:
  """`run_experiment` under the workdir's lock and the signal handlers, after the relaunch
  check (a resumed run must keep its method): what `run` and `framework.fit` share."""
  rundir = RunDir(workdir)
  changes = relaunch_changes(exp.config, rundir)
  with rundir.lock(), StopOnSignal(exp.trainer):
    if changes:
      rundir.append_record(files.RELAUNCHES, {"changed": changes})
      rundir.write_text(files.CONFIG, exp.config.to_json_best_effort(indent=1))
    return run_experiment(exp, workdir, verbose)


def _selection(exp: experiment_lib.Experiment, evaluator: Evaluator, rundir: RunDir) -> list:
  """The best-on-validation action when eval.select_best names a metric."""
  metric, data = exp.config.eval.select_best, exp.data
  if not metric:
    return []
  every = exp.config.train.eval_every_epochs * exp.steps_per_epoch
  return [actions_lib.SelectBest(evaluator, data.val, metric, every, rundir,
                                 lambda: export(exp.model, data, rundir, BEST_FILE, False))]


def run_experiment(exp: experiment_lib.Experiment, workdir: str, verbose: bool = True) -> dict:
  """Runs a built experiment in `workdir` (resuming if it can): train, evaluate, export."""
  config, data = exp.config, exp.data
  t, spe = config.train, exp.steps_per_epoch
  evaluator = run_evaluator(exp.model, config.eval, data)
  evaluate = actions_lib.Evaluate(evaluator, data.test, t.eval_every_epochs * spe)
  selection = _selection(exp, evaluator, RunDir(workdir))
  tracked = choose_tracked(exp)
  rundir = RunDir(workdir)
  _start_workdir(exp, rundir, tracked)
  with Board.open(rundir.path, data.class_names, config.logging.max_class_runs) as board:
    actions = standard_actions(exp, rundir, board, evaluate, tracked, verbose)
    controller = Controller(exp.trainer, exp.total_steps, exp.steps_per_loop,
                            actions + selection, rundir.checkpoints, t.max_checkpoints,
                            t.checkpoint_every_loops)
    start = controller.restore()
    effective = effective_weights(exp)
    summaries.write_header(board, start, config.to_json_best_effort(indent=1), tracked,
                           summaries.classes_text(data.class_names, data.class_counts,
                                                  effective.class_weight(exp.total_steps),
                                                  exp.schedule["drw_start_epoch"]))
    if start and verbose:
      print(f"Resuming from step {start} of {exp.total_steps} in {workdir}")
    step = controller.run()
    final = evaluate.latest or evaluator.evaluate(data.test)
    if not rundir.snapshots() or rundir.snapshots()[-1][0] != step:
      _find(actions, actions_lib.Snapshots).save(step)
    _find(actions, summaries.TrainingSummaries).finish(step, data.class_names)
    summaries.write_hparams(board, config, effective_kwargs(config), final, step)
  export(exp.model, data, rundir)
  results = {"step": step, "epochs": step / spe, "final": final,
             "history": rundir.read_history(), "class_names": list(data.class_names),
             "class_counts": data.class_counts.tolist(),
             "skipped_steps": int(exp.trainer.skipped.numpy()), "schedule": exp.schedule,
             "config": config.to_dict()}
  if selection:
    results["best"] = selection[0].best
  rundir.write_json(files.RESULTS, results)
  if verbose:
    print(format_per_class_table(final, data.class_names, data.class_counts))
    print(f"Results in {rundir.file(files.RESULTS)}; model in {rundir.file(MODEL_FILE)}; "
          f"TensorBoard: tensorboard --logdir {os.path.dirname(os.path.abspath(workdir))} "
          f"(runs named after their workdirs)")
  return results
