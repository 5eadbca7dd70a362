"""The README's noisy-label Fashion-MNIST tables: every variant of experiments/fmnist_noisy.py
(40 epochs, evaluated every epoch) at seeds 0, 1 and 2 (config.seed and data.seed).

  python -m framework.sweeps.run --sweep=experiments/sweeps/fmnist_noisy_table.py \\
      --root=/tmp/noisy_runs --workers=2
  python -m framework.studies.noisy_table --root=/tmp/noisy_runs   # the table
"""

from framework.sweeps import Sweep


def get_sweep():
  return Sweep(experiment="fmnist_noisy", seeds=(0, 1, 2))
