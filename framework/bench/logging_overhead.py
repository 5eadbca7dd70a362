"""Cost of the TensorBoard summaries: the same run with summaries on (default) and off.

    python -m framework.bench.logging_overhead [--config fmnist_lt:ce] [--epochs 3]
        [--repeats 2]

Runs one experiment (default: the long-tailed Fashion-MNIST protocol with a small CNN,
plus 30% symmetric label noise, default logging: summaries every loop = every epoch)
alternately with summaries on and off (a NullWriter and `logging.summary_every_loops=0`;
evaluation, history and weight snapshots stay on in both), `--repeats` times each, through
the run's own evaluation, actions and controller (`train.assemble`). Prints the best wall
and CPU time of each, the overhead in percent (target <= 5%) and the time the controller
measured inside the summary actions. On a machine shared with other jobs the wall-time
difference is noisy; the time inside the summary actions (a direct measurement) is the
robust figure. `--config synthetic` uses a tiny MLP on synthetic data instead.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from framework.config import base_config, load_experiment
from framework.runs.rundir import RunDir
from framework.summaries import Board
from framework.summaries import actions as summaries_lib
from framework.train import experiment as experiment_lib
from framework.train.runner import assemble

SUMMARIES = (summaries_lib.TrainingSummaries, summaries_lib.EvalSummaries, summaries_lib.HParams)


def _config(spec: str, epochs: int, summaries: bool):
  """The experiment `name[:variant]` (or a path) or 'synthetic', with 30% noise."""
  if spec == "synthetic":
    c = base_config()
    c.data.source = "synthetic"
    c.model.kwargs = {"hidden": (128,)}
  else:
    name, _, variant = spec.partition(":")
    c = load_experiment(name).get_config(variant or None)
  c.data.noise = {"kind": "symmetric", "rate": 0.3}
  c.train.epochs = epochs
  if not summaries:
    c.logging.summary_every_loops = 0
  return c


def _timed_run(config, summaries: bool) -> tuple[float, float, float]:
  """(wall, process CPU, wall inside the summary actions) of training the config."""
  exp = experiment_lib.build(config)
  with tempfile.TemporaryDirectory() as workdir:
    board = (Board.open(workdir, exp.data.class_names, config.logging.max_class_runs)
             if summaries else Board.null())
    controller = assemble(exp, RunDir(workdir), board, verbose=False).controller
    start, cpu = time.perf_counter(), time.process_time()
    with board:
      controller.run()
    inside = sum(seconds for action, seconds in zip(controller.actions, controller.seconds)
                 if isinstance(action, SUMMARIES))
    return time.perf_counter() - start, time.process_time() - cpu, inside


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="fmnist_lt:ce")
  parser.add_argument("--epochs", type=int, default=3)
  parser.add_argument("--repeats", type=int, default=2)
  args = parser.parse_args(argv)
  _timed_run(_config(args.config, 1, False), False)  # warm-up: data cache, first imports
  times, cpus, inside = ({True: [], False: []} for _ in range(3))
  for _ in range(args.repeats):
    for summaries in (True, False):
      wall, cpu, spent = _timed_run(_config(args.config, args.epochs, summaries), summaries)
      times[summaries].append(wall)
      cpus[summaries].append(cpu)
      inside[summaries].append(spent)
  on, off = min(times[True]), min(times[False])
  cpu_on, cpu_off = min(cpus[True]), min(cpus[False])
  print(f"experiment: {args.config}, {args.epochs} epochs, 30% symmetric noise, "
        f"summaries every loop (= every epoch), {args.repeats} runs each (best of runs: the "
        "least disturbed by other jobs)")
  for name, values in (("on ", times[True]), ("off", times[False])):
    print(f"summaries {name}: wall {min(values):7.2f} s (runs: "
          f"{', '.join(f'{t:.2f}' for t in values)})")
  print(f"wall-time overhead (on - off) / off: {100 * (on - off) / off:+.2f}%  (target <= 5%)")
  print(f"process CPU: on {cpu_on:.2f} s, off {cpu_off:.2f} s, overhead "
        f"{100 * (cpu_on - cpu_off) / cpu_off:+.2f}%")
  print(f"wall time inside the summary actions: {min(inside[True]):.3f} s "
        f"({100 * min(inside[True]) / on:.2f}% of the run)")


if __name__ == "__main__":
  main()
