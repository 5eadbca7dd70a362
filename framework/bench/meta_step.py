"""Cost of a meta rule's step relative to a plain step, same model and batch.

    python -m framework.bench.meta_step [--steps 300] [--repeats 7] [--rules l2rw,mwnet,meta_alpha]
                                        [--model mlp|small_cnn|resnet32]

Builds the noisy Fashion-MNIST protocol (experiments/fmnist_noisy.py: MLP 784-512-512-10,
batch 128, clean validation batch 100; `--model` swaps in the long-tailed protocol's small
CNN or ResNet-32) once per rule, runs one compiled loop of each to trace and warm up,
prints the ops of each rule's traced loop by type (those the meta step adds to the plain
step's), then times `--repeats` rounds in which every rule runs one compiled loop of
`--steps` steps in turn (so a slow spell of a shared machine hits them all), and prints
the median time per step (wall and process CPU) and its ratio to the `fixed` rule (a plain
weighted step; target <= 3x). Per step, learning to reweight adds a forward and backward
pass of the validation batch and a reverse pass through a backward pass of the batch's
weighted loss (the batch's forward pass is the plain step's); mwnet and meta_alpha also
use that backward pass's values (the virtual step).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time

from framework.train import experiment as experiment_lib
from framework.config import load_experiment


MODELS = {"mlp": ("mlp", {"hidden": (512, 512)}), "small_cnn": ("small_cnn", {}),
          "resnet32": ("resnet_cifar", {"depth": 32})}


def timed_loop(rule: str, steps: int, model: str = "mlp"):
  """(a function that runs one compiled loop of `steps` steps of `rule`, traced and warm;
  the number of ops of each type in the traced loop, nested functions included)."""
  config = load_experiment("fmnist_noisy").get_config("ce")
  config.rule.name = rule
  config.model.name, config.model.kwargs = MODELS[model]
  exp = experiment_lib.build(config)
  loop = lambda: float(exp.trainer.train(steps))
  loop()  # trace and warm up
  return loop, op_counts(exp.trainer._train)


_BOOKKEEPING = {"Const", "Placeholder", "Identity", "IdentityN", "ReadVariableOp", "Reshape",
                "Shape", "NoOp", "StopGradient", "Cast", "Pack", "StridedSlice", "ZerosLike",
                "OnesLike", "Fill", "Tile", "BroadcastTo", "BroadcastGradientArgs",
                "PartitionedCall", "StatefulPartitionedCall", "AssignVariableOp"}


def op_counts(function) -> collections.Counter:
  """Ops by type in the graphs of a traced tf.function and every function they call."""
  counts = collections.Counter()
  graphs = [concrete.graph for concrete in function._list_all_concrete_functions()]
  seen = set()
  while graphs:
    graph = graphs.pop()
    for op in graph.get_operations():
      counts[op.type] += 1
    for name, nested in getattr(graph, "_functions", {}).items():
      if name not in seen:
        seen.add(name)
        graphs.append(nested.graph)
  return counts


# wall time, and this process's CPU time (which other processes on the machine hardly change)
_CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=300)
  parser.add_argument("--repeats", type=int, default=7)
  parser.add_argument("--rules", default="l2rw,mwnet,meta_alpha")
  parser.add_argument("--model", default="mlp", choices=sorted(MODELS))
  args = parser.parse_args()
  rules = ["fixed"] + args.rules.split(",")
  loops, ops = {}, {}
  for rule in rules:
    loops[rule], ops[rule] = timed_loop(rule, args.steps, args.model)
  for rule in rules:
    added = {k: v for k, v in (ops[rule] - ops["fixed"]).items() if k not in _BOOKKEEPING}
    print(f"{rule}: {sum(ops[rule].values())} ops in the traced loop, "
          f"{sum(v for k, v in ops[rule].items() if k not in _BOOKKEEPING)} computing; added "
          f"over the plain step: {', '.join(f'{k} +{v}' for k, v in sorted(added.items()))}")
  times = {(rule, clock): [] for rule in rules for clock in _CLOCKS}
  for _ in range(args.repeats):  # round robin: a slow spell of the machine hits every rule
    for rule in rules:
      start = {clock: read() for clock, read in _CLOCKS.items()}
      loops[rule]()
      for clock, read in _CLOCKS.items():
        times[rule, clock].append((read() - start[clock]) / args.steps)
  for clock in _CLOCKS:
    base = statistics.median(times["fixed", clock])
    print(f"{clock}, fixed (plain step): {1e3 * base:.2f} ms/step ({args.model}, batch 128)")
    for rule in rules[1:]:
      seconds = statistics.median(times[rule, clock])
      print(f"{clock}, {rule}: {1e3 * seconds:.2f} ms/step = {seconds / base:.2f}x the plain "
            f"step (target <= 3x)", flush=True)


if __name__ == "__main__":
  main()
