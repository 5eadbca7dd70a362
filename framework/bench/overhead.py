"""What the features a user turns on cost against a raw loop, and one summary call at scale.

    python -m framework.bench.overhead [--part all|run|calls] [--epochs 3] [--repeats 5]

`run`: the long-tailed Fashion-MNIST protocol (small CNN, Adam, batch 128, 116 steps an
epoch) trained by the framework with what a user turns on: the per-sample rule `loss_ema`,
loops of 20 steps with the training summaries after each (every 20 steps), a checkpoint and
a weight snapshot every epoch, the non-finite guard; the same with summaries off; and a raw
compiled GradientTape loop (plain mean cross-entropy, same model, initial weights, data,
batch and loops of 20 steps). Round-robin, `--repeats` rounds; process CPU time from the
end of the first loop (tracing excluded) to the end, the test evaluation's CPU taken out
(the raw loop has none). Prints the fastest and the median round of each as ratios to the
raw loop's.

`calls`: one training-summary call (TensorBoard writer in a temporary directory, tables
moved between calls so every family is written), each configuration in a fresh process, on
a weight state of N = 1e5, 1e6, 1e7
examples with `loss_ema` and `elr`, C = 10 and 1,000 classes (ELR's [N, C] table itself at
C = 1,000 and N >= 1e6 is 4 GB or more: not run). Prints the CPU time of a mid-epoch call
and of an epoch-end call (which redraws the trajectory heatmap), after two calls that trace
and compile, and the peak RSS of those four calls over the process's before the first
(the weight state allocated; sampled every millisecond).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from framework.bench.raw_loop import raw_loop
from framework.config import load_experiment
from framework.runs.rundir import RunDir
from framework.summaries import Board, OnlyMoving, WeightReader, summary_sample, tracking
from framework.summaries.actions import TrainingSummaries
from framework.train import experiment as experiment_lib
from framework.train.actions import Action, LoopEnd
from framework.train.runner import assemble
from framework.weights import RULES, WeightState
from framework.weights.effective import EffectiveWeights

LOOP = 20  # steps per compiled loop, so summaries every 20 steps
SIZES = (10**5, 10**6, 10**7)
MAX_TABLE_BYTES = 2 * 10**9  # larger rule tables are not allocated


class _Clock(Action):
  """Process CPU time at the end of the first loop (after the other actions) and at the end."""
  every_loops = 1

  def __init__(self):
    self.start = self.stop = None

  def run(self, end: LoopEnd) -> None:
    if self.start is None:
      self.start = time.process_time()

  def finish(self, step: int, metrics: dict | None) -> None:
    self.stop = time.process_time()


class _TimedEvaluation:
  """The run's evaluation, adding up the process CPU time it takes."""

  def __init__(self, evaluation):
    self.evaluation, self.cpu = evaluation, 0.0

  def __getattr__(self, name):
    return getattr(self.evaluation, name)

  def __call__(self, step: int) -> dict:
    start = time.process_time()
    try:
      return self.evaluation(step)
    finally:
      self.cpu += time.process_time() - start


def _config(epochs: int, summaries: bool):
  c = load_experiment("fmnist_lt").get_config("ce")
  c.rule.name = "loss_ema"
  c.train.epochs, c.train.eval_every_epochs, c.train.steps_per_loop = epochs, epochs, LOOP
  c.train.on_nonfinite = "stop"
  c.logging.snapshot_every_epochs = 1
  c.logging.summary_every_loops = 1 if summaries else 0
  return c


def trainer_cpu(epochs: int, summaries: bool) -> float:
  """CPU seconds of a full-featured run after its first loop, evaluation taken out."""
  exp = experiment_lib.build(_config(epochs, summaries))
  clock = _Clock()
  with tempfile.TemporaryDirectory() as workdir:
    board = (Board.open(workdir, exp.data.class_names, 0) if summaries else Board.null())
    controller = assemble(exp, RunDir(workdir), board, verbose=False,
                          extra_actions=[clock]).controller
    controller.checkpoint_every_loops = -(-exp.steps_per_epoch // LOOP)  # every epoch
    controller.evaluation = evaluation = _TimedEvaluation(controller.evaluation)
    with board:
      controller.run()
  return clock.stop - clock.start - evaluation.cpu


def raw_loop_cpu(epochs: int) -> float:
  """CPU seconds of the same steps in a raw compiled loop, after its first loop."""
  exp = experiment_lib.build(_config(epochs, False))
  model, data, batch = exp.model, exp.data, exp.config.train.batch_size
  x, y = data.transform.eval(data.train.features).numpy(), data.train.labels
  stream = iter(tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(y), seed=0).repeat()
                .batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
  loop = raw_loop(model, keras.optimizers.Adam(exp.config.optimizer.learning_rate), stream)
  loops = [LOOP] * (exp.total_steps // LOOP) + ([exp.total_steps % LOOP] * bool(
      exp.total_steps % LOOP))
  loop(tf.constant(loops[0])).numpy()
  start = time.process_time()
  for steps in loops[1:]:
    loop(tf.constant(steps)).numpy()
  return time.process_time() - start


def run_part(epochs: int, repeats: int) -> None:
  runs = {"raw GradientTape loop": lambda: raw_loop_cpu(epochs),
          "trainer, summaries off": lambda: trainer_cpu(epochs, False),
          "trainer, full": lambda: trainer_cpu(epochs, True)}
  cpu = {name: [] for name in runs}
  for _ in range(repeats):
    for name, run in runs.items():
      cpu[name].append(run())
  raw = cpu["raw GradientTape loop"]
  print(f"fmnist_lt (small CNN, batch 128), {epochs} epochs in loops of {LOOP} steps; full: "
        "loss_ema, summaries every loop, checkpoint and snapshot every epoch, non-finite "
        f"guard. Process CPU after the first loop, evaluation taken out, {repeats} "
        "round-robin rounds: the fastest and the median of each, as ratios to the raw loop's")
  for name, values in cpu.items():
    print(f"  {name:24s} {min(values):7.2f} s  x{min(values) / min(raw):.3f}, median "
          f"x{np.median(values) / np.median(raw):.3f}  (rounds: "
          f"{', '.join(f'{v:.2f}' for v in values)})")


class _RssPeak:
  """Peak resident memory over the process's at entry, polled every millisecond."""

  def __enter__(self) -> _RssPeak:
    self.base = self.peak = _rss()
    self._done = threading.Event()
    self._thread = threading.Thread(target=self._poll, daemon=True)
    self._thread.start()
    return self

  def _poll(self) -> None:
    while not self._done.wait(0.001):
      self.peak = max(self.peak, _rss())

  def __exit__(self, *exc_info) -> None:
    self._done.set()
    self._thread.join()
    self.peak = max(self.peak, _rss())

  @property
  def delta_mb(self) -> float:
    return (self.peak - self.base) / 2**20


def _rss() -> int:
  with open("/proc/self/statm") as f:
    return int(f.read().split()[1]) * 4096


def _move(state: WeightState, rows: np.ndarray, rng: np.random.Generator) -> None:
  """New random values in `rows` of every per-sample table (so every family moves)."""
  for variable in tf.nest.flatten(dict(state.per_sample)):
    shape = (rows.size, *variable.shape[1:])
    variable.scatter_update(tf.IndexedSlices(
        tf.constant(rng.random(shape), variable.dtype), tf.constant(rows)))


def summary_call(rule: str, n: int, c: int, logdir: str) -> tuple[float, float, float]:
  """(CPU seconds of a mid-epoch call, of an epoch-end call, peak RSS delta in MB)."""
  keras.utils.set_random_seed(0)
  rng = np.random.default_rng(0)
  state = WeightState(n, c, RULES.build(rule, {}, context={"num_classes": c}))
  labels = rng.integers(0, c, n).astype(np.int32)
  steps_per_epoch = 1000
  effective = EffectiveWeights(labels, lambda epoch: np.ones(c, np.float32), steps_per_epoch)
  tracked = tracking.choose_tracked(labels, None, c, 3, 0)
  names = [f"class{k}" for k in range(c)]
  reader = WeightReader(state, effective, summary_sample(n, 0), tracked.indices)
  rows = np.union1d(reader.sample[:64], tracked.indices)
  with Board.open(logdir, names, 0) as board:
    summaries = TrainingSummaries(board, reader, lambda: 1e-3, lambda: 0, tracked, names,
                                  tracking.row_labels(tracked, names), 1, 256, OnlyMoving())
    def call(step: int) -> float:
      _move(state, rows, rng)
      start = time.process_time()
      summaries.run(LoopEnd(step, step // LOOP, False, 1.0))
      return time.process_time() - start
    with _RssPeak() as memory:  # from before the first call: tracing and compiling too
      call(LOOP), call(2 * LOOP)  # trace; the first values, then every family moves
      mid_epoch = call(3 * LOOP)
      epoch_end = call(steps_per_epoch)
  return mid_epoch, epoch_end, memory.delta_mb


def calls_part() -> None:
  """Each configuration in a fresh process, so one's memory does not hide another's."""
  print("| rule | C | N | CPU, mid-epoch call | CPU, epoch-end call | peak RSS delta |")
  print("| --- | --- | --- | --- | --- | --- |")
  for rule in ("loss_ema", "elr"):
    for c in (10, 1000):
      for n in SIZES:
        if rule == "elr" and 4 * n * c > MAX_TABLE_BYTES:
          print(f"| {rule} | {c} | {n:.0e} | not run: the [N, C] table alone is "
                f"{4 * n * c / 1e9:.0f} GB | | |")
          continue
        out = subprocess.run([sys.executable, "-m", __spec__.name, "--call", f"{rule}:{n}:{c}"],
                             check=True, capture_output=True, text=True).stdout
        mid, end, mb = json.loads(out.strip().splitlines()[-1])
        print(f"| {rule} | {c} | {n:.0e} | {mid:.3f} s | {end:.3f} s | {mb:+.0f} MB |",
              flush=True)


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--part", choices=("all", "run", "calls"), default="all")
  parser.add_argument("--epochs", type=int, default=3)
  parser.add_argument("--repeats", type=int, default=5)
  parser.add_argument("--call", help=argparse.SUPPRESS)  # rule:N:C, one `calls` measurement
  args = parser.parse_args(argv)
  if args.call:
    rule, n, c = args.call.split(":")
    with tempfile.TemporaryDirectory() as logdir:
      print(json.dumps(summary_call(rule, int(n), int(c), logdir)))
    return
  if args.part in ("all", "calls"):
    calls_part()
  if args.part in ("all", "run"):
    run_part(args.epochs, args.repeats)


if __name__ == "__main__":
  main()
