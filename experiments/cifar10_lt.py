r"""Long-tailed CIFAR-10 (Cao et al. 2019's protocol), each published figure with its own recipe.

  python launch.py --config=experiments/cifar10_lt.py:ldam_drw_cao --workdir=runs/c10lt/ldam
  python launch.py --config=experiments/cifar10_lt.py:mwnet_shu --workdir=runs/c10lt10/mwnet \
      --config.data.long_tail.imbalance_ratio=10

NEEDS A GPU: 100 to 1,241 epochs of a ResNet-32. Not run here (no GPU, no network); the
test suite builds these configs and their models, and trains short smoke runs of some on
generated CIFAR files. The CIFAR python batches are found in `data.data_dir`, the Keras
cache, or downloaded.

Data: class c keeps the first n_c = int(n_max * IR^(-c/9)) images of a seeded permutation
of its class, IR 100 by default: [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
(12,406); the balanced 10,000-image test set. The meta variants first take 10 clean
images a class for the meta set, then cut the tail (n_max 4,990: 12,380 images).

Recipes, each the one its source's code trains (REFERENCE.md, "Authors' recipes"):
  LDAM_RECIPE  kaidic/LDAM-DRW `cifar_train.py` (PyTorch): ResNet-32, torch's SGD momentum
               0.9, wd 2e-4 on every parameter, batch 128 with the last partial batch
               trained, 200 epochs, lr 0.1, warm-up lr (e + 1) / 5 for 5 epochs, x0.01 from
               0.8 of the run (epoch 160), x1e-4 from 0.9 (180); zero pad 4, crop, flip.
  CUI_RECIPE   richardaecn/class-balanced-loss `src/cifar_main.py` (TensorFlow 1): the same
               schedule and batch (full batches of a repeated stream), momentum 0.9 with the
               rate outside the buffer (torch's form), wd 2e-4 (the authors spare the
               classifier's bias, l2_all decays it too), pixels x / 128 - 1, classifier bias
               from the prior (model.bias_init).
  SHU_RECIPE   xjtushujun/meta-weight-net, class-imbalance script (PyTorch): torch's SGD
               momentum 0.9 Nesterov, wd 5e-4 on every parameter, batch 100 with the last
               partial batch trained, 100 epochs, lr 0.1 x0.1 at 80 and 90; reflect pad 4,
               crop, flip; its mean / std; meta set 10 a class before the cut.
  MENON_RECIPE google-research `logit_adjustment` (TensorFlow 2 / Keras, so Keras's SGD):
               bottleneck ResNet-32 with projection shortcuts, Nesterov momentum 0.9, batch
               128, 1,241 epochs, warm-up 20, x0.1 / 0.01 / 0.001 at 604 / 926 / 1,128, Keras
               L2 1e-4 (= weight_decay 2e-4 here, which halves it) on the kernels (the
               code also decays the dense bias), pixels x / 255 - 0.5, zero pad 4, crop,
               flip.

Variants quoting a figure (top-1 %, IR 100 / IR 10; REFERENCE.md, "Published results"):
  ldam_drw_cao          LDAM (s 30, max margin 0.5, cosine head) with DRW (beta 0.9999 from
                        0.8 of the run, torch's weighted mean): 77.03 / 88.16.
  sigmoid_focal_cui     sigmoid focal loss, gamma 1: 70.38 / 86.66.
  cb_sigmoid_focal_cui  the same with class-balanced weights (beta 0.9999, x C): 74.57 at
                        IR 100 (the paper's best loss type there; IR 10's best is another).
  mwnet_shu             Meta-Weight-Net, V by SGD 1e-5 (momentum 0.9, Nesterov, wd 5e-4)
                        on weights normalised by their sum: 75.21 / 87.84.
  l2rw_shu              learning to reweight in the same setting: 74.16 / 85.19.
  logit_adjusted_menon  logit-adjusted loss, tau 1: 77.67 at IR 100 (the code's README:
                        77.89).
  mixup_zhong           MiSLAS's first stage (dvlab-research/MiSLAS `train_stage1.py`, the
                        cifar10 imb001 stage-1 config): the LDAM recipe's optimiser with
                        x0.1 at 160 and x0.01 at 180, mixup alpha 1 (one lam a batch):
                        72.8 at IR 100, ECE 2.14 (the code's README).
  mislas_zhong          MiSLAS's second stage on this seed's mixup_zhong run (set
                        model.init_from): the classifier fine-tuned 10 epochs, class-balanced
                        sampling, label-aware smoothing (concave, head 0.3, tail 0), torch's
                        SGD momentum 0.9 at lr 0.5 x 0.1 (their lr_factor), wd 2e-4, cosine:
                        82.5 at IR 100, ECE 3.66. Their learnable scale of each class's logit
                        (trained at the full rate) is not modelled.
The LDAM recipe under other losses, for comparison (no published figure is theirs):
ce_ldam_recipe (default), focal_ldam_recipe, class_balanced_ldam_recipe,
logit_adjusted_ldam_recipe, balanced_softmax_ldam_recipe, posthoc_ldam_recipe.

What the ports do not reproduce: Menon's warm-up rises per step from 0 and its crop pads
the normalised image with zeros (here per epoch, (e + 1) / 20, and zero pixels); Cui's
shortcut average-pools where this ResNet-32 subsamples; Cui's code spares the classifier's
bias from weight decay, Menon's decays it and draws the head's kernel from N(0, 0.01).
"""

from framework.config import base_config, with_variant

LDAM_MEAN, LDAM_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
SHU_MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
SHU_STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)

LDAM_RECIPE = {
    "data.augment": "crop_flip", "data.crop_padding": 4, "data.mean": LDAM_MEAN,
    "data.std": LDAM_STD, "data.drop_remainder": False, "model.name": "resnet32",
    "optimizer.name": "torch_sgd", "optimizer.learning_rate": 0.1,
    "optimizer.kwargs": {"momentum": 0.9}, "optimizer.weight_decay": 2e-4,
    "optimizer.weight_decay_mode": "l2_all", "optimizer.schedule": "step",
    "optimizer.warmup_epochs": 5, "optimizer.decay_epochs": (0.8, 0.9),
    "optimizer.decay_factors": (0.01, 1e-4), "train.batch_size": 128, "train.epochs": 200,
}
CUI_RECIPE = {
    **LDAM_RECIPE, "data.mean": (128 / 255,) * 3, "data.std": (128 / 255,) * 3,
    "data.drop_remainder": True, "optimizer.decay_epochs": (160, 180),
    "model.bias_init": "prior",
}
SHU_RECIPE = {
    "data.val_per_class": 10, "data.augment": "reflect_crop_flip", "data.crop_padding": 4,
    "data.mean": SHU_MEAN, "data.std": SHU_STD, "data.drop_remainder": False,
    "model.name": "resnet32", "optimizer.name": "torch_sgd", "optimizer.learning_rate": 0.1,
    "optimizer.kwargs": {"momentum": 0.9, "nesterov": True}, "optimizer.weight_decay": 5e-4,
    "optimizer.weight_decay_mode": "l2_all", "optimizer.schedule": "step",
    "optimizer.decay_epochs": (80, 90), "train.batch_size": 100, "train.val_batch_size": 100,
    "train.epochs": 100,
}
MENON_RECIPE = {
    "data.augment": "crop_flip", "data.crop_padding": 4, "data.mean": (0.5,) * 3,
    "data.std": (1.0,) * 3, "model.name": "resnet32_bottleneck", "optimizer.name": "sgd",
    "optimizer.learning_rate": 0.1, "optimizer.kwargs": {"momentum": 0.9, "nesterov": True},
    "optimizer.weight_decay": 2e-4, "optimizer.weight_decay_mode": "l2",
    "optimizer.schedule": "step", "optimizer.warmup_epochs": 20,
    "optimizer.decay_epochs": (604, 926, 1128), "optimizer.decay_factors": (0.1, 0.01, 0.001),
    "train.batch_size": 128, "train.epochs": 1241,
}
MISLAS_STAGE1 = {
    **LDAM_RECIPE, "optimizer.decay_epochs": (160, 180), "optimizer.decay_factors": (0.1, 0.01),
    "data.mix.name": "mixup", "data.mix.kwargs": {"alpha": 1.0, "per_batch": True},
}
MISLAS_STAGE2 = {
    **LDAM_RECIPE, "model.retrain": "tune_head", "data.sampler": "class_balanced",
    "loss.name": "label_aware_smoothing", "optimizer.schedule": "cosine",
    "optimizer.warmup_epochs": 0, "optimizer.decay_epochs": (), "optimizer.decay_factors": (),
    "train.epochs": 10,
}

_CB = {"class_weights.scheme": "effective_number", "class_weights.kwargs": {"beta": 0.9999}}
_SIGMOID_FOCAL = {"loss.name": "sigmoid_focal", "loss.kwargs": {"gamma": 1.0}}
_MWNET_V = {"inner_lr": "model", "meta_lr": 1e-5, "weight_decay": 5e-4, "normalize": True,
            "init": "random", "meta_optimizer": "sgd", "meta_momentum": 0.9,
            "meta_nesterov": True}

VARIANTS = {
    "ldam_drw_cao": {**LDAM_RECIPE, **_CB, "class_weights.start_epoch": 0.8,
                     "class_weights.normalize": "weights", "loss.name": "ldam",
                     "loss.kwargs": {"max_margin": 0.5, "scale": 30.0},
                     "model.kwargs": {"head": "cosine"}},
    "sigmoid_focal_cui": {**CUI_RECIPE, **_SIGMOID_FOCAL},
    "cb_sigmoid_focal_cui": {**CUI_RECIPE, **_SIGMOID_FOCAL, **_CB},
    # the virtual step at the model's scheduled rate, as the authors' code takes it
    "mwnet_shu": {**SHU_RECIPE, "rule.name": "mwnet", "rule.kwargs": _MWNET_V},
    "l2rw_shu": {**SHU_RECIPE, "rule.name": "l2rw", "rule.kwargs": {"inner_lr": "model"}},
    "logit_adjusted_menon": {**MENON_RECIPE, "loss.name": "logit_adjusted",
                             "loss.kwargs": {"tau": 1.0}},
    "ce_ldam_recipe": dict(LDAM_RECIPE),
    "focal_ldam_recipe": {**LDAM_RECIPE, "loss.name": "focal",
                          "loss.kwargs": {"gamma": 1.0, "alpha": 1.0}},
    "class_balanced_ldam_recipe": {**LDAM_RECIPE, **_CB},
    "logit_adjusted_ldam_recipe": {**LDAM_RECIPE, "loss.name": "logit_adjusted",
                                   "loss.kwargs": {"tau": 1.0}},
    "balanced_softmax_ldam_recipe": {**LDAM_RECIPE, "loss.name": "balanced_softmax"},
    "posthoc_ldam_recipe": {**LDAM_RECIPE, "eval.posthoc_tau": 1.0},
    "mixup_zhong": dict(MISLAS_STAGE1),
    "mislas_zhong": {**MISLAS_STAGE2, "loss.kwargs": {"smooth_head": 0.3, "smooth_tail": 0.0},
                     "optimizer.learning_rate": 0.5 * 0.1},
}

# Second stages: the variant whose finished run (same seed) model.init_from names.
STARTS_FROM = {"mislas_zhong": "mixup_zhong"}


def cifar_lt_config(source: str, variant=None, variants=None):
  """The long-tailed protocol on `source` ("cifar10" or "cifar100"), imbalance ratio 100,
  with the recipe and method of `variant` from `variants` (by default this file's)."""
  c = base_config()
  c.data.source = source
  c.data.long_tail.profile = "exponential"
  c.data.long_tail.imbalance_ratio = 100.0
  c.train.val_batch_size = 100
  c.train.eval_every_epochs = 10
  return with_variant(c, VARIANTS if variants is None else variants, variant,
                      default="ce_ldam_recipe")


def get_config(variant=None):
  return cifar_lt_config("cifar10", variant)
