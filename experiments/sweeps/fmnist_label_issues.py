"""Finding the wrong labels, stage 1: the framework's rankings. ce, elr, l2rw and mwnet of
experiments/fmnist_noisy.py at 40% symmetric noise, seeds 0, 1 and 2.

  python -m framework.sweeps.run --sweep=fmnist_label_issues --root=/tmp/label_issues --workers=2
  python -m framework.studies.label_issues --root=/tmp/label_issues   # see that module
"""

from framework.sweeps import Sweep


def get_sweep():
  return Sweep(experiment="fmnist_noisy", variants=("ce", "elr", "l2rw", "mwnet"),
               seeds=(0, 1, 2), fixed={"data.noise.rate": 0.4})
