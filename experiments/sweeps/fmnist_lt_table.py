"""The README's long-tailed Fashion-MNIST table: every variant of experiments/fmnist_lt.py
at seeds 0, 1 and 2 (each seed sets config.seed and data.seed, so the spread covers the
long-tail subsample as well as the initialisation and batch order); the second stages (`crt`, `wb`, `mislas`) re-train the classifier of the same seed's
first-stage run (the experiment's STARTS_FROM).

  python -m framework.sweeps.run --sweep=experiments/sweeps/fmnist_lt_table.py \\
      --root=/tmp/lt_runs --workers=2
  python -m framework.studies.lt_table --root=/tmp/lt_runs   # the table
"""

from framework.config import load_experiment
from framework.sweeps import Sweep


def get_sweep():
  return Sweep(experiment="fmnist_lt", seeds=(0, 1, 2),
               starts_from=load_experiment("fmnist_lt").STARTS_FROM)
