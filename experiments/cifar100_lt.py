r"""Long-tailed CIFAR-100: cifar10_lt.py's protocol, recipes and variants on CIFAR-100.

  python launch.py --config=experiments/cifar100_lt.py:ldam_drw_cao --workdir=runs/c100lt/ldam

NEEDS A GPU (100 to 1,419 epochs of a ResNet-32); not run here. Class c keeps
int(500 * IR^(-c/99)) images: IR 100 -> 10,847, IR 10 -> 19,573 (fine labels); the meta
variants first take 10 clean images a class. Recipes and variants: see cifar10_lt.py; the
logit-adjustment code trains CIFAR-100-LT longer: 1,419 epochs, warm-up 22, x0.1 / 0.01 /
0.001 at 691 / 1,059 / 1,290 (`utils.py` dataset_mappings).

Published top-1 % (ResNet-32; REFERENCE.md, "Published results"), IR 100 / IR 10:
ldam_drw_cao 42.04 / 58.71, sigmoid_focal_cui 38.41 / 55.78, mwnet_shu 42.09 / 58.46,
l2rw_shu 40.23 / 53.73, logit_adjusted_menon 43.89 at IR 100 (the code's README: 44.06).
mixup_zhong 39.5 (ECE 8.82) and mislas_zhong 47.0 (ECE 4.83) at IR 100 (MiSLAS's README;
their cifar100 imb001 stage-2 config: smoothing head 0.4, tail 0.1, lr_factor 0.2, batch
norm shifted). cb_sigmoid_focal_cui quotes none here: the paper's best CIFAR-100-LT class-balanced runs
(39.60 / 57.99) used settings REFERENCE.md does not record.
"""

from framework.experiments.cifar10_lt import STARTS_FROM
from framework.experiments.cifar10_lt import VARIANTS as CIFAR10_VARIANTS
from framework.experiments.cifar10_lt import cifar_lt_config

__all__ = ["STARTS_FROM", "VARIANTS", "get_config"]

VARIANTS = dict(CIFAR10_VARIANTS, logit_adjusted_menon={
    **CIFAR10_VARIANTS["logit_adjusted_menon"], "optimizer.warmup_epochs": 22,
    "optimizer.decay_epochs": (691, 1059, 1290), "train.epochs": 1419}, mislas_zhong={
        **CIFAR10_VARIANTS["mislas_zhong"], "model.retrain": "tune_head_shift_bn",
        "loss.kwargs": {"smooth_head": 0.4, "smooth_tail": 0.1},
        "optimizer.learning_rate": 0.2 * 0.1})


def get_config(variant=None):
  return cifar_lt_config("cifar100", variant, VARIANTS)
