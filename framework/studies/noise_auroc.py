"""How well do per-sample weights find mislabelled examples? AUROC of -weight vs the noise mask.

    python -m framework.studies.noise_auroc                      # digits, 40% symmetric noise
    python -m framework.studies.noise_auroc --fashion_mnist --epochs=10

Trains one run per rule on noisy labels and prints a markdown table of the AUROC against
the mask of flipped labels of the rule's signal at the end (`Rule.signal`; here each
rule's weight: low weight = suspected noisy) and of the weight averaged over epochs, plus
the final test accuracy.
"""

from __future__ import annotations

import tempfile

from absl import app, flags

from framework.config import base_config
from framework.evaluation.metrics import auroc
from framework.runs.rundir import RunDir
from framework.summaries import Board
from framework.train import experiment as experiment_lib
from framework.train.actions import Action, LoopEnd
from framework.train.runner import assemble
from framework.weights import WEIGHT
from framework.weights.tables import flat_key

flags.DEFINE_float("noise_rate", 0.4, "symmetric label-noise rate")
flags.DEFINE_bool("fashion_mnist", False, "Fashion-MNIST (10,000 training images) instead of digits")
flags.DEFINE_integer("epochs", 30, "training epochs")
flags.DEFINE_integer("seed", 0, "seed")
FLAGS = flags.FLAGS
WEIGHT_TABLE = flat_key("per_sample", WEIGHT)

# Rule kwargs of the study. data_parameters: instance temperatures only, as in the paper's
# noisy CIFAR setting; its lr is larger because StepResult.grads is d(mean loss)/ds_i.
RULES = {
    "data_parameters": {"per_class": False, "inst_lr": 20.0},
    "loss_ema": {"rate": 0.3, "temperature": 1.0},
    "exp_gradient": {"eta": 0.1},
    "superloss": {"tau": "ema", "lam": 1.0},
}


def study_config(rule: str, kwargs: dict):
  c = base_config()
  c.seed = FLAGS.seed
  if FLAGS.fashion_mnist:
    c.data.source, c.data.train_size = "fashion_mnist", 10000
  c.data.noise.kind, c.data.noise.rate = "symmetric", FLAGS.noise_rate
  c.model.kwargs = {"hidden": (256, 256)}
  c.train.batch_size, c.train.epochs = 128, FLAGS.epochs
  c.rule.name, c.rule.kwargs = rule, kwargs
  return c


class SumWeights(Action):
  """Adds up the per-sample weights at the end of every epoch."""

  def __init__(self, exp: experiment_lib.Experiment):
    self.exp, self.every_steps, self.total = exp, exp.steps_per_epoch, 0.0

  def run(self, end: LoopEnd) -> None:
    self.total = self.total + self.exp.state.numpy()[WEIGHT_TABLE]


def run_rule(rule: str, kwargs: dict) -> dict:
  """Trains the rule (the run's own wiring, in a temporary workdir, no TensorBoard)."""
  exp = experiment_lib.build(study_config(rule, kwargs))
  summed = SumWeights(exp)
  with tempfile.TemporaryDirectory() as workdir:
    wiring = assemble(exp, RunDir(workdir), Board.null(), verbose=False, extra_actions=[summed])
    accuracy = wiring.evaluation(wiring.controller.run())["accuracy"]
  signal, mask = exp.rule.signal, exp.data.train.noise_mask
  final = exp.state.numpy()[signal.table]
  return {"final": auroc(signal.suspicion(final), mask), "averaged": auroc(-summed.total, mask),
          "accuracy": accuracy, "noisy": float(mask.mean()), "n": len(mask)}


def main(argv):
  del argv
  rows = {name: run_rule(name, kwargs) for name, kwargs in RULES.items()}
  any_row = next(iter(rows.values()))
  data = "Fashion-MNIST" if FLAGS.fashion_mnist else "digits"
  print(f"\n{data}, symmetric noise {FLAGS.noise_rate} ({any_row['noisy']:.1%} of "
        f"{any_row['n']} labels wrong), {FLAGS.epochs} epochs, seed {FLAGS.seed}\n")
  print("| rule | AUROC final weights | AUROC epoch-averaged | test accuracy |")
  print("| --- | --- | --- | --- |")
  for name, r in rows.items():
    print(f"| {name} | {r['final']:.3f} | {r['averaged']:.3f} | {r['accuracy']:.3f} |")


if __name__ == "__main__":
  app.run(main)
