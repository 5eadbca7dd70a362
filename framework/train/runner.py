"""A run: `run(config, workdir)` builds the experiment, `assemble` wires its evaluation,
actions and controller, `run_experiment` trains it in its workdir and writes the results.

`assemble` is the one place a run is put together: `run_experiment` (launch.py,
`framework.fit`) and the benchmarks call it instead of re-wiring the pieces.
This module assembles the layers above `train` (summaries) into the run.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import ml_collections

from framework.evaluation.evaluator import run_evaluator
from framework.evaluation.history import best_and_last
from framework.evaluation.metrics import format_per_class_table
from framework.runs import files
from framework.runs.export import export
from framework.runs.rundir import RunDir
from framework.summaries import Board, OnlyMoving, WeightReader, summary_sample, tracking
from framework.summaries import actions as summaries
from framework.train import actions as actions_lib
from framework.train import experiment as experiment_lib
from framework.train.components import effective_kwargs
from framework.train.controller import Controller
from framework.train.early_stopping import EarlyStopping
from framework.train.optimizers import current_learning_rate
from framework.train.preemption import StopOnSignal
from framework.train.relaunch import (check_data, check_length, record_relaunch,
                                      relaunch_changes)
from framework.train.workdir import write_start
from framework.weights.effective import EffectiveWeights


@dataclasses.dataclass(frozen=True)
class RunWiring:
  """What `assemble` puts together; `controller.run()` trains (see `run_experiment`)."""
  tracked: tracking.TrackedSet           # the examples whose weight trajectories are charted
  evaluation: actions_lib.Evaluation     # the test evaluation; `evaluation(step)`: metrics
  select_best: actions_lib.SelectBest | None  # with eval.select_best: the best model so far
  early_stopping: EarlyStopping | None  # with train.early_stopping.metric
  effective: EffectiveWeights            # the weights the run trains with, as charted
  charted: list[str]                     # the families a previous process had charted
  controller: Controller


def choose_tracked(exp: experiment_lib.Experiment) -> tracking.TrackedSet:
  """The tracked examples the config's logging section asks for."""
  log, train = exp.config.logging, exp.data.train
  return tracking.choose_tracked(
      train.labels, train.noise_mask if train.noise_mask.any() else None,
      len(exp.data.class_names), log.tracked_per_class, log.tracked_noisy,
      tuple(log.tracked_indices))


def charted(rundir: RunDir) -> list[str]:
  """The families a previous process of the run had charted (see summaries.moving)."""
  return rundir.read_json(files.CHARTED) if rundir.exists(files.CHARTED) else []


def effective_weights(exp: experiment_lib.Experiment) -> EffectiveWeights:
  """The effective weights (class weight x importance x rule) of the experiment's tables."""
  train = exp.data.train
  return EffectiveWeights(train.labels, exp.trainer.class_weighting, exp.steps_per_epoch,
                          train.importance)


def assemble(exp: experiment_lib.Experiment, rundir: RunDir, board: Board, *,
             verbose: bool = True, extra_actions: Sequence[actions_lib.Action] = ()
             ) -> RunWiring:
  """The run of `exp` in `rundir`: the test evaluation every `train.eval_every_epochs`, and
  the actions history, TensorBoard views (on `board`), hparams, weight snapshots, progress
  (when `verbose`), the best model (with `eval.select_best`), early stopping (with
  `train.early_stopping.metric`) and `extra_actions`, under a controller checkpointing in
  the workdir.

  The evaluator is built once (`run_evaluator`) and serves the test evaluation and the
  validation of the best model. Actions only read the controller's `LoopEnd`, so their
  order orders nothing but their writes.
  """
  config, data, log, spe = exp.config, exp.data, exp.config.logging, exp.steps_per_epoch
  evaluator = run_evaluator(exp.model, config, data)
  evaluation = actions_lib.Evaluation(evaluator, data.test, config.train.eval_every_epochs * spe)
  validation = actions_lib.Evaluation(evaluator, data.val, 0)  # asked for by the actions
  select_best = (actions_lib.SelectBest(
      validation, config.eval.select_best, rundir,
      lambda: export(exp.model, data, rundir, files.BEST_MODEL, False,
                     evaluator.output_scale))
                 if config.eval.select_best else None)
  stopping = config.train.early_stopping
  early_stopping = (EarlyStopping(exp.model, validation, stopping.metric,
                                  stopping.patience * spe, stopping.restore_best,
                                  (evaluation, validation), rundir, exp.optimizer,
                                  stopping.lr_factor, stopping.lr_patience * spe)
                    if stopping.metric else None)
  tracked, effective, live = choose_tracked(exp), effective_weights(exp), charted(rundir)
  actions = [
      actions_lib.History(rundir, spe),
      summaries.TrainingSummaries(
          board, WeightReader(exp.state, effective,
                              summary_sample(exp.state.num_samples, config.seed),
                              tracked.indices),
          lambda: current_learning_rate(exp.optimizer),
          lambda: int(exp.trainer.skipped.numpy()), tracked, data.class_names,
          tracking.row_labels(tracked, data.class_names, data.train.clean_labels),
          log.summary_every_loops, log.heatmap_max_columns, OnlyMoving(live),
          lambda live: rundir.write_json(files.CHARTED, live)),
      summaries.EvalSummaries(board, data.class_names),
      summaries.HParams(board, summaries.hparams(config, effective_kwargs(config))),
      actions_lib.Snapshots(rundir, exp.state, log.snapshot_every_epochs * spe, effective),
      *([actions_lib.Progress(exp.total_steps, spe)] if verbose else []),
      *([select_best] if select_best else []),
      *([early_stopping] if early_stopping else []),
      *extra_actions,
  ]
  t = config.train
  controller = Controller(exp.trainer, exp.total_steps, exp.steps_per_loop, actions,
                          evaluation=evaluation, checkpoint_dir=rundir.checkpoints,
                          max_checkpoints=t.max_checkpoints,
                          checkpoint_every_loops=t.checkpoint_every_loops)
  return RunWiring(tracked, evaluation, select_best, early_stopping, effective, live,
                   controller)


def run(config: ml_collections.ConfigDict, workdir: str, verbose: bool = True) -> dict:
  """Trains and evaluates the experiment of `config` in `workdir`, resuming if it can.

  One run per workdir (a lock); SIGTERM / SIGINT stop it at the next step with a
  checkpoint (`Preempted`). Returns the final results (also in `workdir/results.json`).
  """
  exp = experiment_lib.build(config)  # every validation happens here, before any write
  return run_guarded(exp, workdir, verbose)


def run_guarded(exp: experiment_lib.Experiment, workdir: str, verbose: bool = True) -> dict:
  """`run_experiment` under the workdir's lock and the signal handlers, after the relaunch
  checks (a resumed run must keep its method and its data): what `run` and `framework.fit`
  share. The lock comes first, so the workdir read is the one no other launch writes; then
the temporary files of writes a killed process left unfinished are removed."""
  rundir = RunDir(workdir)
  with rundir.lock(), StopOnSignal(exp.trainer):
    changes = relaunch_changes(exp.config, rundir)
    check_length(exp.config, rundir, exp.steps_per_epoch, exp.total_steps)
    check_data(exp.data, rundir)
    rundir.remove_temporaries()  # a refused relaunch leaves the workdir as it was
    if changes:
      record_relaunch(exp.config, rundir, changes)
    return run_experiment(exp, workdir, verbose)


def run_experiment(exp: experiment_lib.Experiment, workdir: str, verbose: bool = True) -> dict:
  """Runs a built experiment in `workdir` (resuming if it can): train, evaluate, export."""
  config, data, rundir = exp.config, exp.data, RunDir(workdir)
  rundir.create()  # the run's first write (a workdir that is a file fails here, in one line)
  with Board.open(rundir.path, data.class_names, config.logging.max_class_runs) as board:
    wiring = assemble(exp, rundir, board, verbose=verbose)
    write_start(exp, rundir, wiring.tracked.to_json())
    start = wiring.controller.restore()
    class_weight = wiring.effective.class_weight(exp.total_steps)
    summaries.write_header(board, start, config.to_json_best_effort(indent=1),
                           summaries.classes_text(data.class_names, data.class_counts,
                                                  class_weight, exp.schedule["drw_start_epoch"]),
                           wiring.charted)
    if start and verbose:
      print(f"Resuming from step {start} of {exp.total_steps} in {workdir}")
    step = wiring.controller.run()
    final = wiring.evaluation(step)
  export(exp.model, data, rundir, scale=wiring.evaluation.evaluator.output_scale)
  history = rundir.read_history()
  results = {"step": step, "epochs": step / exp.steps_per_epoch, "final": final,
             "best_last": best_and_last(history), "history": history,
             "class_names": list(data.class_names),
             "class_counts": data.class_counts.tolist(),
             "skipped_steps": int(exp.trainer.skipped.numpy()), "schedule": exp.schedule,
             "config": config.to_dict()}
  if wiring.select_best:
    results["best"] = wiring.select_best.best
  if wiring.early_stopping:
    results["early_stopping"] = wiring.early_stopping.summary(exp.steps_per_epoch, step)
  rundir.write_json(files.RESULTS, results)
  if verbose:
    print(format_per_class_table(final, data.class_names, data.class_counts))
    print(f"Results in {rundir.file(files.RESULTS)}; model in {rundir.file(files.MODEL)}; "
          f"TensorBoard: tensorboard --logdir {os.path.dirname(os.path.abspath(workdir))} "
          f"(runs named after their workdirs)")
  return results
