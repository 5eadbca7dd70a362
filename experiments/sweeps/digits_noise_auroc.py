"""How well each rule's per-sample weights find mislabelled digits: every variant of
experiments/digits_noisy.py (40% symmetric noise, 30 epochs, a weight snapshot every epoch)
at seeds 0, 1 and 2 (config.seed and data.seed); 15 runs of about 20 s on 2 cores.

  python -m framework.sweeps.run --sweep=digits_noise_auroc --root=/tmp/digits_noisy --workers=1
  python -m framework.report --runs=/tmp/digits_noisy --out=/tmp/digits_noisy_report
"""

from framework.sweeps import Sweep


def get_sweep():
  return Sweep(experiment="digits_noisy", seeds=(0, 1, 2))
