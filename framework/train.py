"""The controller: loop { train steps_per_loop ; evaluate ; summaries ; checkpoint }, resumable."""

from __future__ import annotations

import json
import os

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from framework import experiment as experiment_lib
from framework.evaluator import Evaluator
from framework.logging import SummaryWriter, run_summaries
from framework.metrics import format_per_class_table
from framework.pipeline import distributed_stream


def write_json(path: str, payload) -> None:
  """Writes atomically, so a crash never leaves a half-written file."""
  tmp = f"{path}.tmp"
  with open(tmp, "w") as f:
    json.dump(payload, f, indent=1, default=lambda o: np.asarray(o).tolist())
  os.replace(tmp, path)


def _append_history(path: str, record: dict) -> None:
  with open(path, "a") as f:
    f.write(json.dumps(record) + "\n")


def _read_history(path: str) -> list[dict]:
  """Evaluation records by step; a step evaluated again after a resume keeps its last record."""
  if not os.path.exists(path):
    return []
  with open(path) as f:
    records = {r["step"]: r for r in map(json.loads, filter(str.strip, f))}
  return [records[s] for s in sorted(records)]


def _prepare_workdir(exp: experiment_lib.Experiment, workdir: str) -> None:
  os.makedirs(workdir, exist_ok=True)
  if not os.path.exists(os.path.join(workdir, "config.json")):
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(exp.config.to_json_best_effort(indent=1))
  train = exp.data.train
  if train.noise_mask.any() and not os.path.exists(os.path.join(workdir, "noise.npz")):
    np.savez(os.path.join(workdir, "noise.npz"), noise_mask=train.noise_mask,
             labels=train.labels, clean_labels=train.clean_labels)


def run(config: ml_collections.ConfigDict, workdir: str, verbose: bool = True) -> dict:
  """Trains and evaluates the experiment of `config` in `workdir`, resuming if it can.

  Returns the final results (also written to `workdir/results.json`).
  """
  exp = experiment_lib.build(config)  # every validation happens here, before any write
  summaries = run_summaries.RunSummaries(exp, workdir)  # validates the logging fields
  _prepare_workdir(exp, workdir)
  manager = tf.train.CheckpointManager(exp.checkpoint(), os.path.join(workdir, "checkpoints"),
                                       max_to_keep=config.train.max_checkpoints)
  manager.restore_or_initialize()
  step = int(exp.trainer.step.numpy())
  data, t = exp.data, config.train
  iterator = iter(distributed_stream(exp.strategy, data.train, t.batch_size, config.seed, step))
  val_iterator = None
  if exp.rule.meta is not None:
    val_iterator = iter(distributed_stream(exp.strategy, data.val, t.val_batch_size,
                                           config.seed + 1, step))
  evaluator = Evaluator(exp.model, config.eval.batch_size, data.class_counts,
                        config.eval.posthoc_tau)
  eval_every = t.eval_every_epochs * exp.steps_per_epoch
  progbar = keras.utils.Progbar(exp.total_steps, verbose=1 if verbose else 0,
                                unit_name="step", stateful_metrics=["loss"])
  history_path, loops = os.path.join(workdir, "history.jsonl"), 0
  with SummaryWriter(os.path.join(workdir, "tensorboard")) as writer:
    if step and verbose:
      print(f"Resuming from step {step} of {exp.total_steps} in {workdir}")
    while step < exp.total_steps:
      num_steps = min(exp.steps_per_loop, exp.total_steps - step, eval_every - step % eval_every)
      loss = float(exp.trainer.train(iterator, num_steps, val_iterator))
      step, loops = step + num_steps, loops + 1
      progbar.update(step, [("loss", loss)])
      metrics = None
      if step % eval_every == 0 or step == exp.total_steps:
        metrics = evaluator.evaluate(data.test, data.num_classes)
        _append_history(history_path, {"step": step, "epoch": step / exp.steps_per_epoch, **{
            k: v for k, v in metrics.items() if np.ndim(v) == 0}})
      summaries.write(writer, step, loss, metrics, loops)
      if loops % t.checkpoint_every_loops == 0 or step == exp.total_steps:
        manager.save(checkpoint_number=step)
    final = evaluator.evaluate(data.test, data.num_classes)
    summaries.write_final(writer, final)
  results = {"step": step, "epochs": step / exp.steps_per_epoch, "final": final,
             "history": _read_history(history_path), "class_names": list(data.class_names),
             "class_counts": data.class_counts.tolist(), "config": config.to_dict()}
  write_json(os.path.join(workdir, "results.json"), results)
  if verbose:
    print(format_per_class_table(final, data.class_names))
    print(f"Results in {os.path.join(workdir, 'results.json')}; "
          f"TensorBoard: tensorboard --logdir {workdir}")
  return results
