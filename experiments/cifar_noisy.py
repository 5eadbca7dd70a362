r"""Noisy CIFAR, WRN-28-10 at 40% label noise: each published figure with its own recipe.

  python launch.py --config=experiments/cifar_noisy.py:mwnet_shu --workdir=runs/c10n40/mwnet
  python launch.py --config=experiments/cifar_noisy.py:mwnet_shu --workdir=runs/c100n40/mwnet \
      --config.data.source=cifar100 --config.data.val_per_class=10

NEEDS A GPU: 41 to 136 epochs of WRN-28-10 (36.5 M parameters). Not run here (no GPU, no
network); the test suite builds these configs and their models, and trains a short smoke
run on generated CIFAR files.

Recipes (REFERENCE.md, "Authors' recipes"), the schedule in whole epochs, so an iteration
count falls on the epoch boundary nearest to it:
  SHU_WRN_RECIPE  xjtushujun/meta-weight-net `train_WRN-28-10_Meta_PGC.py` (PyTorch): 100
                  clean images a class form the meta set (10 on CIFAR-100), each other
                  label is redrawn from all C classes with p 0.4 (`symmetric`); torch's SGD
                  momentum 0.9 Nesterov, wd 5e-4 on every parameter, batch 100, lr 0.1
                  /10 at iterations 18,000 and 19,000 of 20,000; reflect pad 4, crop, flip;
                  its mean / std. The script draws each batch afresh (no epochs); here, at
                  490 steps an epoch: 41 epochs (20,090 iterations), the drops at epochs 37
                  and 39 (iterations 18,130 and 19,110).
  REN_RECIPE      uber-research/learning-to-reweight-examples (TensorFlow 1):
                  `cifar-wide-resnet-28-10.prototxt` - momentum 0.9 with the rate outside
                  the buffer (torch's form), wd 2e-4 (tf.nn.l2_loss: 0.5 wd |w|^2, taken on
                  the kernels), dropout 0.3, batch 100, 60,000 iterations, x0.1 at 40,000
                  and 50,000; `generate_noisy_cifar_data.py` - 5,000 images held out for
                  validation (here: data.train_size 44,000 of the rest), 100 clean images a
                  class, the first floor(0.4 n) labels redrawn as floor(U(0, C - 1))
                  (`uniform_ren`). At 440 steps an epoch: 136 epochs (59,840 iterations),
                  drops at 91 and 114 (40,040 and 50,160).
  SAXENA_RECIPE   apple/ml-data-parameters `main_cifar.py` (PyTorch), CIFAR-100: all 50,000
                  images, the first 40% of labels permuted among themselves (`permuted`);
                  torch's SGD momentum 0.9, wd 5e-4 on every parameter, batch 128 with the
                  last partial batch trained, lr 0.1 x0.1 at 80 and 100; zero pad 4, crop,
                  flip. The published figure is "at the 84th epoch": the run ends there
                  (train.epochs 84; the drop at 100 is never reached).

Variants (top-1 % at 40% noise; REFERENCE.md, "Published results"):
  ce_shu                  cross-entropy in the Meta-Weight-Net setting: 68.07 (C-10), 51.11
                          (C-100). The default.
  mwnet_shu               Meta-Weight-Net, V by SGD 1e-3 (momentum 0.9, Nesterov, wd 5e-4)
                          on weights normalised by their sum, V's default torch init:
                          89.27 (C-10), 67.73 (C-100).
  l2rw_ren                learning to reweight, Ren et al.'s own setting: 86.92 (C-10).
  data_parameters_saxena  instance data parameters (the CIFAR-100-noisy preset): 71 (CE in
                          the same setting: 50.0).
  dividemix_li            DivideMix (Li et al. 2020) with their CIFAR-10 recipe at 50%
                          symmetric noise (LiJunnan1992/DivideMix `Train_cifar.py`): two
                          PreAct-ResNet-18, no clean meta set, torch's SGD lr 0.02 momentum
                          0.9, wd 5e-4 on every parameter, 300 epochs, lr / 10 from epoch
                          150, warm-up 10 epochs (30 on CIFAR-100), lambda_u 25 (0 at 20%
                          noise, 150 at 80%), 128 examples a step (their 64 labelled + 64
                          unlabelled; 128 in the warm-up), full batches (their epoch is
                          floor(labelled / 64) steps): best 94.6, last 94.4 (their
                          Table 1, as quoted; not checked against the paper here).
The baselines depend on late-epoch overfitting, so compare final, not best, accuracy.
What the ports do not reproduce: the authors' WRNs differ in detail (Saxena's convs carry
biases, 10,096 parameters more; Ren's clean set is drawn at random, not 100 a class).
"""

from framework.config import base_config, with_variant
from framework.experiments.cifar10_lt import LDAM_MEAN, LDAM_STD, SHU_MEAN, SHU_STD

_WRN = {"model.name": "wrn", "model.kwargs": {"depth": 28, "width": 10}}
SHU_WRN_RECIPE = {
    **_WRN, "data.val_per_class": 100, "data.noise.kind": "symmetric", "data.noise.rate": 0.4,
    "data.augment": "reflect_crop_flip", "data.crop_padding": 4, "data.mean": SHU_MEAN,
    "data.std": SHU_STD, "data.drop_remainder": False, "optimizer.name": "torch_sgd",
    "optimizer.learning_rate": 0.1, "optimizer.kwargs": {"momentum": 0.9, "nesterov": True},
    "optimizer.weight_decay": 5e-4, "optimizer.weight_decay_mode": "l2_all",
    "optimizer.schedule": "step", "optimizer.decay_epochs": (37, 39), "train.batch_size": 100,
    "train.val_batch_size": 100, "train.epochs": 41,
}
REN_RECIPE = {
    "model.name": "wrn", "model.kwargs": {"depth": 28, "width": 10, "dropout": 0.3},
    "data.val_per_class": 100, "data.train_size": 44000, "data.noise.kind": "uniform_ren",
    "data.noise.rate": 0.4, "data.augment": "crop_flip", "data.crop_padding": 4,
    "optimizer.name": "torch_sgd", "optimizer.learning_rate": 0.1,
    "optimizer.kwargs": {"momentum": 0.9}, "optimizer.weight_decay": 2e-4,
    "optimizer.weight_decay_mode": "l2", "optimizer.schedule": "step",
    "optimizer.decay_epochs": (91, 114), "train.batch_size": 100, "train.val_batch_size": 100,
    "train.epochs": 136,
}
SAXENA_RECIPE = {
    **_WRN, "data.source": "cifar100", "data.val_per_class": 0, "data.noise.kind": "permuted",
    "data.noise.rate": 0.4, "data.augment": "crop_flip", "data.crop_padding": 4,
    "data.mean": LDAM_MEAN, "data.std": LDAM_STD, "data.drop_remainder": False,
    "optimizer.name": "torch_sgd", "optimizer.learning_rate": 0.1,
    "optimizer.kwargs": {"momentum": 0.9}, "optimizer.weight_decay": 5e-4,
    "optimizer.weight_decay_mode": "l2_all", "optimizer.schedule": "step",
    "optimizer.decay_epochs": (80, 100), "train.batch_size": 128, "train.epochs": 84,
}

VARIANTS = {
    "ce_shu": dict(SHU_WRN_RECIPE),
    # the virtual step at the model's scheduled rate, as the authors' code takes it
    "mwnet_shu": {**SHU_WRN_RECIPE, "rule.name": "mwnet", "rule.kwargs": {
        "inner_lr": "model", "meta_lr": 1e-3, "weight_decay": 5e-4, "normalize": True,
        "init": "random", "meta_optimizer": "sgd", "meta_momentum": 0.9,
        "meta_nesterov": True}},
    "l2rw_ren": {**REN_RECIPE, "rule.name": "l2rw", "rule.kwargs": {"inner_lr": "model"}},
    "data_parameters_saxena": {**SAXENA_RECIPE, "rule.name": "data_parameters",
                               "rule.kwargs": {"preset": "cifar100_noisy"}},
    "dividemix_li": {
        "rule.name": "dividemix", "rule.kwargs": {"warm_up": 10, "lambda_u": 25.0},
        "data.val_per_class": 0, "data.noise.kind": "symmetric", "data.noise.rate": 0.5,
        "data.augment": "crop_flip", "data.crop_padding": 4, "data.mean": LDAM_MEAN,
        "data.std": LDAM_STD, "model.name": "preact_resnet18",
        "optimizer.name": "torch_sgd", "optimizer.learning_rate": 0.02,
        "optimizer.kwargs": {"momentum": 0.9}, "optimizer.weight_decay": 5e-4,
        "optimizer.weight_decay_mode": "l2_all", "optimizer.schedule": "step",
        "optimizer.decay_epochs": (150,), "optimizer.decay_factors": (0.1,),
        "train.batch_size": 128, "train.epochs": 300, "train.eval_every_epochs": 5},
}


def get_config(variant=None):
  c = base_config()
  c.data.source = "cifar10"
  c.train.eval_every_epochs = 2
  return with_variant(c, VARIANTS, variant, default="ce_shu")
