"""Cost of a rule's epoch pass relative to a training epoch, same model and data.

    python -m framework.bench.epoch_pass [--repeats 3]

Builds the noisy Fashion-MNIST protocol (experiments/fmnist_noisy.py: MLP 784-512-512-10,
batch 128) with co-teaching's two peers and an epoch pass that changes nothing, traces
and warms up both, then times `--repeats` rounds of one training epoch and one pass over
the training set (every example, both peers, at inference) and prints their medians and
ratio. The pass is a forward pass only, so it should cost well under an epoch's time.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from framework.config import load_experiment
from framework.train import experiment as experiment_lib
from framework.weights import EpochPass, RULES, Tables


def _timed(fn) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  config = load_experiment("fmnist_noisy").get_config("ce")
  peers = RULES.build("co_teaching", {}, context={"steps_per_epoch": 1})
  rule = dataclasses.replace(peers, epoch_pass=EpochPass(lambda tables, result: Tables()))
  exp = experiment_lib.build(config, rule=rule)
  trainer, spe = exp.trainer, exp.steps_per_epoch
  epoch = lambda: float(trainer.train(spe))
  epoch_pass = lambda: trainer._pass(0).loss.sum()  # pylint: disable=protected-access
  epoch(), epoch_pass()  # trace and warm up
  epochs, passes = [], []
  for _ in range(args.repeats):
    epochs.append(_timed(epoch))
    passes.append(_timed(epoch_pass))
  e, p = statistics.median(epochs), statistics.median(passes)
  print(f"{len(exp.data.train)} examples, {spe} steps of {config.train.batch_size}, 2 peers: "
        f"epoch {e:.2f} s, pass {p:.2f} s, pass / epoch {p / e:.2f} (median of {args.repeats})")


if __name__ == "__main__":
  main()
