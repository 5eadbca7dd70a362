r"""Long-tailed CIFAR-100: the CIFAR-10-LT protocol, recipe and variants on CIFAR-100.

  python launch.py --config=experiments/cifar100_lt.py:ldam_drw --workdir=runs/c100lt/ldam_drw

NEEDS A GPU (200 epochs of ResNet-32); not run here. Class c keeps int(500 * IR^(-c/99))
images: IR 100 -> 10,847, IR 10 -> 19,573 (fine labels); the meta variants take 10 clean
images a class. Variants and recipe: see cifar10_lt.py.

Published top-1 % (ResNet-32, REFERENCE.md), IR 100 / IR 10: CE 38.32 / 55.71, focal
38.41 / 55.78, class-balanced 39.60 / 57.99, L2RW 40.23 / 53.73, MW-Net 42.09 / 58.46,
LDAM-DRW 42.04 / 58.71, logit-adjusted 43.89 / -.
"""

from framework.experiments.cifar10_lt import VARIANTS, cifar_lt_config

__all__ = ["VARIANTS", "get_config"]


def get_config(variant=None):
  return cifar_lt_config("cifar100", variant)
