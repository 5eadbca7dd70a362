"""`run(config, workdir)`: build the experiment, wire the controller's actions, write results."""

from __future__ import annotations

import ml_collections
import numpy as np
import tensorflow as tf

from framework import actions as actions_lib
from framework import experiment as experiment_lib
from framework.controller import Controller
from framework.evaluator import Evaluator
from framework.logging import MetricWriter, SummaryWriter, summaries, tracking
from framework.metrics import format_per_class_table
from framework.optimizers import current_learning_rate
from framework.rundir import RunDir


def _start_workdir(exp: experiment_lib.Experiment, rundir: RunDir,
                   tracked: tracking.TrackedSet) -> None:
  """The run's first writes: config (once), noise mask (once), labels, tracked set."""
  rundir.create()
  if not rundir.exists("config.json"):
    rundir.write_text("config.json", exp.config.to_json_best_effort(indent=1))
  train = exp.data.train
  if train.noise_mask.any() and not rundir.exists("noise.npz"):
    rundir.write_arrays("noise.npz", noise_mask=train.noise_mask, labels=train.labels,
                        clean_labels=train.clean_labels)
  rundir.write_array("labels.npy", np.asarray(train.labels))
  rundir.write_json("tracked.json", {"class_names": list(exp.data.class_names),
                                     "tracked": tracked.to_json()})


def choose_tracked(exp: experiment_lib.Experiment) -> tracking.TrackedSet:
  log, train = exp.config.logging, exp.data.train
  return tracking.choose_tracked(
      train.labels, train.noise_mask if train.noise_mask.any() else None,
      [summaries.tag_name(n) for n in exp.data.class_names], log.tracked_per_class,
      log.tracked_noisy, tuple(log.tracked_indices))


def standard_actions(exp: experiment_lib.Experiment, rundir: RunDir, writer: MetricWriter,
                     evaluate: actions_lib.Evaluate, tracked: tracking.TrackedSet,
                     verbose: bool = True) -> list:
  """The actions of a run, in order: evaluate, history, TensorBoard, snapshots, progress."""
  data, log, spe = exp.data, exp.config.logging, exp.steps_per_epoch
  return [
      evaluate,
      actions_lib.History(rundir, spe),
      summaries.TrainingSummaries(
          writer, exp.state, lambda: current_learning_rate(exp.optimizer), data.train.labels,
          data.class_names, tracked, log.summary_every_loops, log.heatmap_max_columns),
      summaries.EvalSummaries(writer, data.class_names),
      actions_lib.Snapshots(rundir, exp.state, log.snapshot_every_epochs * spe),
      actions_lib.ProgressBar(exp.total_steps, verbose),
  ]


def run(config: ml_collections.ConfigDict, workdir: str, verbose: bool = True) -> dict:
  """Trains and evaluates the experiment of `config` in `workdir`, resuming if it can.

  Returns the final results (also written to `workdir/results.json`).
  """
  exp = experiment_lib.build(config)  # every validation happens here, before any write
  tracked = choose_tracked(exp)
  rundir = RunDir(workdir)
  _start_workdir(exp, rundir, tracked)
  data, t, spe = exp.data, config.train, exp.steps_per_epoch
  evaluator = Evaluator(exp.model, config.eval.batch_size, data.class_counts,
                        config.eval.posthoc_tau, data.transform)
  evaluate = actions_lib.Evaluate(evaluator, data.test, t.eval_every_epochs * spe)
  manager = tf.train.CheckpointManager(exp.trainer.checkpoint(), rundir.checkpoints,
                                       max_to_keep=t.max_checkpoints)
  with SummaryWriter(rundir.tensorboard) as writer:
    controller = Controller(
        exp.trainer, exp.total_steps, exp.steps_per_loop,
        standard_actions(exp, rundir, writer, evaluate, tracked, verbose),
        checkpoint_manager=manager, checkpoint_every_loops=t.checkpoint_every_loops)
    start = controller.restore()
    summaries.write_header(writer, start, config.to_json_best_effort(indent=1), tracked)
    if start and verbose:
      print(f"Resuming from step {start} of {exp.total_steps} in {workdir}")
    step = controller.run()
    final = evaluate.latest or evaluator.evaluate(data.test)
    if not rundir.snapshots() or rundir.snapshots()[-1][0] != step:
      rundir.write_snapshot(step, exp.state.numpy())
    summaries.write_hparams(writer, config, final)
  results = {"step": step, "epochs": step / spe, "final": final,
             "history": rundir.read_history(), "class_names": list(data.class_names),
             "class_counts": data.class_counts.tolist(), "config": config.to_dict()}
  rundir.write_json("results.json", results)
  if verbose:
    print(format_per_class_table(final, data.class_names))
    print(f"Results in {rundir.file('results.json')}; "
          f"TensorBoard: tensorboard --logdir {workdir}")
  return results
