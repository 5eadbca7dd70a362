"""Each CIFAR variant's built config against the recipe its published figure came from.

The expected values are written here from REFERENCE.md ("Authors' recipes", "Published
results"), and where it is silent from the source file it names (cited beside the value);
nothing is read back from the experiment files. Parameter counts come from building the
model, which is fast without training.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import pytest

from framework.config import load_experiment
from framework.data import protocol
from framework.models import MODELS
from framework.train.schedule import resolve_schedule

LDAM_MEAN, LDAM_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
SHU_MEAN = tuple(v / 255 for v in (125.3, 123.0, 113.9))
SHU_STD = tuple(v / 255 for v in (63.0, 62.1, 66.7))
RESNET32_PARAMS, WRN28_10_PARAMS = 464_154, 36_479_194  # with a 10-class head


def _with_classes(params_10: int, features: int, classes: int) -> int:
  """A 10-class count moved to `classes` outputs of a dense head on `features`."""
  return params_10 + (classes - 10) * (features + 1)


def _bottleneck_resnet32_params(classes: int) -> int:
  """The bottleneck ResNet-32 counted from its description: a 3x3 stem of 16, three stages
  of 5 bottlenecks (1x1, 3x3, 1x1 of one width, batch norm after each), a 1x1 projection
  with batch norm opening each stage, a final batch norm and a dense head."""
  total, inputs = 3 * 3 * 3 * 16 + 2 * 16, 16
  for width in (16, 32, 64):
    total += inputs * width + 2 * width                        # the projection
    total += inputs * width + 9 * width * width + width * width + 6 * width
    total += 4 * (11 * width * width + 6 * width)
    inputs = width
  return total + 2 * 64 + 64 * classes + classes


# Cao et al. (kaidic/LDAM-DRW cifar_train.py): REFERENCE.md; PyTorch, so torch's SGD
LDAM = dict(optimizer="torch_sgd", lr=0.1, momentum=0.9, nesterov=False, weight_decay=2e-4,
            decayed="every parameter", batch=128, last_partial_batch=True, epochs=200,
            warmup=5, decay_epochs=[160, 180], decay_factors=[0.01, 1e-4],
            augment="crop_flip", padding=4, mean=LDAM_MEAN, std=LDAM_STD, meta_per_class=0,
            noise=("none", 0.0), model="resnet32", bias_init="zeros")
# Cui et al. (class-balanced-loss src/cifar_main.py defaults: lr 0.1, momentum 0.9 of
# tf.train.MomentumOptimizer (the rate outside the buffer: torch's form), wd 2e-4, batch
# 128, 200 epochs, schedule [5, 160, 180] x [1, 0.01, 1e-4]; cifar_model.py: x / 128 - 1;
# a repeated stream, so full batches); REFERENCE.md: the loss, weights, bias.
CUI = dict(LDAM, last_partial_batch=False, mean=(128 / 255,) * 3, std=(128 / 255,) * 3,
           bias_init="prior")
# Shu et al.'s class-imbalance script: REFERENCE.md
SHU_LT = dict(optimizer="torch_sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4,
              decayed="every parameter", batch=100, last_partial_batch=True, epochs=100,
              warmup=0, decay_epochs=[80, 90], decay_factors=[0.1, 0.01],
              augment="reflect_crop_flip", padding=4, mean=SHU_MEAN, std=SHU_STD,
              meta_per_class=10, noise=("none", 0.0), model="resnet32", bias_init="zeros")
# Menon et al. (google-research logit_adjustment): REFERENCE.md; Keras's L2 1e-4 is
# 1e-4 |w|^2, the project's 0.5 wd |w|^2, so wd 2e-4; TensorFlow's input drops the last
# partial batch (utils.py: drop_remainder=training); zero pad 4 (utils.py _process_image)
MENON = dict(optimizer="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=2e-4,
             decayed="kernels", batch=128, last_partial_batch=False, epochs=1241, warmup=20,
             decay_epochs=[604, 926, 1128], decay_factors=[0.1, 0.01, 0.001],
             augment="crop_flip", padding=4, mean=(0.5,) * 3, std=(1.0,) * 3,
             meta_per_class=0, noise=("none", 0.0), model="resnet32_bottleneck",
             bias_init="zeros")
# CIFAR-100-LT: utils.py dataset_mappings (REFERENCE.md gives the 1,419 epochs only)
MENON_100 = dict(MENON, epochs=1419, warmup=22, decay_epochs=[691, 1059, 1290])
# Shu et al.'s WRN-28-10 script: REFERENCE.md; 20,000 iterations, drops at 18,000 / 19,000
SHU_WRN = dict(SHU_LT, epochs=41, decay_epochs=[37, 39], meta_per_class=100,
               noise=("symmetric", 0.4), model="wrn")
# Ren et al. (cifar-wide-resnet-28-10.prototxt: lr 0.1, momentum 0.9, batch 100; TF1's
# momentum, the rate outside the buffer); REFERENCE.md: 60k iterations, drops at 40k / 50k
REN = dict(SHU_WRN, nesterov=False, weight_decay=2e-4, decayed="kernels",
           last_partial_batch=False, epochs=136, decay_epochs=[91, 114], augment="crop_flip",
           mean=(), std=(), noise=("uniform_ren", 0.4))  # (): not recorded, CIFAR's default
# Saxena et al. (ml-data-parameters main_cifar.py: lr 0.1, WRN-28-10, zero pad 4, LDAM's
# constants); REFERENCE.md: batch 128, x0.1 at 80 / 100, stopped at the 84th epoch
SAXENA = dict(SHU_WRN, nesterov=False, batch=128, epochs=84, decay_epochs=[80, 100],
              augment="crop_flip", mean=LDAM_MEAN, std=LDAM_STD, meta_per_class=0,
              noise=("permuted", 0.4))

# Zhong et al. (dvlab-research/MiSLAS): stage-1 configs cifar10/100_imb001 (lr 0.1, batch
# 128, wd 2e-4, 200 epochs, momentum 0.9, mixup alpha 1), train_stage1.py
# adjust_learning_rate (warm-up 5, x0.1 after 160, x0.01 after 180), datasets/cifar10.py
# (LDAM's constants, zero pad 4, every batch kept); stage 2 (train_stage2.py): 10 epochs,
# cosine, the classifier's rate lr_factor x 0.1 (0.5 for cifar10 imb001, 0.2 cifar100)
ZHONG_1 = dict(LDAM, decay_epochs=[160, 180], decay_factors=[0.1, 0.01])
ZHONG_2 = dict(LDAM, lr=0.05, epochs=10, warmup=0, decay_epochs=[], decay_factors=[])
ZHONG_2_100 = dict(ZHONG_2, lr=0.02)

_CB = ("effective_number", {"beta": 0.9999})
_V_LT = {"inner_lr": "model", "meta_lr": 1e-5, "meta_optimizer": "sgd", "meta_momentum": 0.9,
         "meta_nesterov": True, "weight_decay": 5e-4, "normalize": True, "init": "random"}
_V_WRN = dict(_V_LT, meta_lr=1e-3)
# variant -> (recipe, loss (name, kwargs), class weights (scheme, kwargs, start epoch), rule)
_LT = {
    "ldam_drw_cao": (LDAM, ("ldam", {"max_margin": 0.5, "scale": 30.0}), (*_CB, 160),
                     ("fixed", {})),
    "sigmoid_focal_cui": (CUI, ("sigmoid_focal", {"gamma": 1.0}), ("none", {}, 0),
                          ("fixed", {})),
    "cb_sigmoid_focal_cui": (CUI, ("sigmoid_focal", {"gamma": 1.0}), (*_CB, 0), ("fixed", {})),
    "mwnet_shu": (SHU_LT, ("cross_entropy", {}), ("none", {}, 0), ("mwnet", _V_LT)),
    "l2rw_shu": (SHU_LT, ("cross_entropy", {}), ("none", {}, 0),
                 ("l2rw", {"inner_lr": "model"})),
    "logit_adjusted_menon": (MENON, ("logit_adjusted", {"tau": 1.0}), ("none", {}, 0),
                             ("fixed", {})),
    "ce_ldam_recipe": (LDAM, ("cross_entropy", {}), ("none", {}, 0), ("fixed", {})),
    "focal_ldam_recipe": (LDAM, ("focal", {"gamma": 1.0, "alpha": 1.0}), ("none", {}, 0),
                          ("fixed", {})),
    "class_balanced_ldam_recipe": (LDAM, ("cross_entropy", {}), (*_CB, 0), ("fixed", {})),
    "logit_adjusted_ldam_recipe": (LDAM, ("logit_adjusted", {"tau": 1.0}), ("none", {}, 0),
                                   ("fixed", {})),
    "balanced_softmax_ldam_recipe": (LDAM, ("balanced_softmax", {}), ("none", {}, 0),
                                     ("fixed", {})),
    "posthoc_ldam_recipe": (LDAM, ("cross_entropy", {}), ("none", {}, 0), ("fixed", {})),
    "mixup_zhong": (ZHONG_1, ("cross_entropy", {}), ("none", {}, 0), ("fixed", {})),
    "mislas_zhong": (ZHONG_2, ("label_aware_smoothing", {"smooth_head": 0.3, "smooth_tail": 0.0}),
                     ("none", {}, 0), ("fixed", {})),
}
_NOISY = {
    "ce_shu": (SHU_WRN, ("cross_entropy", {}), ("none", {}, 0), ("fixed", {})),
    "mwnet_shu": (SHU_WRN, ("cross_entropy", {}), ("none", {}, 0), ("mwnet", _V_WRN)),
    "l2rw_ren": (REN, ("cross_entropy", {}), ("none", {}, 0), ("l2rw", {"inner_lr": "model"})),
    "data_parameters_saxena": (SAXENA, ("cross_entropy", {}), ("none", {}, 0),
                               ("data_parameters", {"preset": "cifar100_noisy"})),
}
_CASES = ([("cifar10_lt", v, 10) for v in _LT] + [("cifar100_lt", v, 100) for v in _LT]
          + [("cifar_noisy", v, 100 if v == "data_parameters_saxena" else 10) for v in _NOISY])


def _recipe_of(c) -> dict:
  """The recipe a built config trains, in the terms of the expected tables."""
  o, d = c.optimizer, c.data
  schedule = resolve_schedule(c, steps_per_epoch=100)
  return dict(
      optimizer=o.name, lr=o.learning_rate, momentum=o.kwargs.get("momentum", 0.0),
      nesterov=o.kwargs.get("nesterov", False), weight_decay=o.weight_decay,
      decayed={"l2_all": "every parameter", "l2": "kernels"}.get(o.weight_decay_mode),
      batch=c.train.batch_size, last_partial_batch=not d.drop_remainder,
      epochs=c.train.epochs, warmup=schedule["warmup_epochs"],
      decay_epochs=schedule["decay_epochs"],
      decay_factors=schedule["decay_factors"] if o.schedule == "step" else [],
      drw=schedule["drw_start_epoch"], augment=d.augment, padding=d.crop_padding,
      mean=tuple(d.mean), std=tuple(d.std), meta_per_class=d.val_per_class,
      noise=(d.noise.kind, d.noise.rate), model=c.model.name, bias_init=c.model.bias_init)


def _mismatches(got: dict, expected: dict) -> dict:
  """{key: (got, expected)} where they differ; numbers (and their sequences) to 1e-9."""
  def same(a, b):
    if isinstance(b, str) or isinstance(a, str):
      return a == b
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a.shape != b.shape:
      return False
    return all(x == y if isinstance(y, str) else math.isclose(x, y, rel_tol=1e-9)
               for x, y in zip(a.ravel(), b.ravel()))
  return {k: (got[k], v) for k, v in expected.items() if not same(got[k], v)}


@functools.lru_cache(maxsize=None)
def _parameters(name: str, kwargs: tuple, classes: int) -> int:
  model = MODELS.build(name, dict(kwargs), field="model",
                       context={"input_shape": (32, 32, 3), "num_classes": classes})
  return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def _expected_parameters(model: str, head: str, classes: int) -> int:
  """The count REFERENCE.md gives, less the head's bias for LDAM's cosine head (a weight
  matrix only)."""
  count = {"resnet32": _with_classes(RESNET32_PARAMS, 64, classes),
           "wrn": _with_classes(WRN28_10_PARAMS, 640, classes),
           "resnet32_bottleneck": _bottleneck_resnet32_params(classes)}[model]
  return count - classes if head == "cosine" else count


@pytest.mark.parametrize("experiment, variant, classes", _CASES)
def test_variant_trains_its_sources_recipe(experiment, variant, classes):
  recipe, loss, weights, rule = (_NOISY if experiment == "cifar_noisy" else _LT)[variant]
  if experiment == "cifar100_lt" and recipe is MENON:
    recipe = MENON_100
  if experiment == "cifar100_lt" and recipe is ZHONG_2:
    recipe, loss = ZHONG_2_100, (loss[0], {"smooth_head": 0.4, "smooth_tail": 0.1})
  c = load_experiment(experiment).get_config(variant)
  got = _recipe_of(c)
  assert _mismatches(got, recipe) == {}
  assert (c.loss.name, c.loss.kwargs.to_dict()) == loss
  assert (c.class_weights.scheme, c.class_weights.kwargs.to_dict(),
          got["drw"]) == weights
  assert (c.rule.name, c.rule.kwargs.to_dict()) == rule
  assert c.data.source == ("cifar100" if classes == 100 else "cifar10")
  kwargs = c.model.kwargs.to_dict()
  assert _parameters(c.model.name, tuple(sorted(kwargs.items())), classes) == (
      _expected_parameters(c.model.name, kwargs.get("head", "linear"), classes))


def test_the_ldam_and_cui_recipes_differ_where_their_code_does():
  """The LDAM-DRW head is cosine; Ren's WRN drops out 0.3; the others use the plain head."""
  assert load_experiment("cifar10_lt").get_config("ldam_drw_cao").model.kwargs.head == "cosine"
  assert load_experiment("cifar_noisy").get_config("l2rw_ren").model.kwargs.dropout == 0.3
  assert load_experiment("cifar10_lt").get_config("posthoc_ldam_recipe").eval.posthoc_tau == 1.0
  ren = load_experiment("cifar_noisy").get_config("l2rw_ren").data
  assert 50_000 - 5_000 - 10 * ren.val_per_class == ren.train_size  # 5,000 held out


@pytest.mark.parametrize("experiment, shift", [("cifar10_lt", False), ("cifar100_lt", True)])
def test_mislas_mixes_then_fine_tunes_the_classifier(experiment, shift):
  """Stage 1 mixes with one lam a batch (methods.py mixup_data); stage 2 fine-tunes the
  classifier (not re-initialised) on class-balanced batches, batch norm shifted on
  CIFAR-100 only (the configs' shift_bn)."""
  m = load_experiment(experiment)
  first = m.get_config("mixup_zhong").data.mix
  assert (first.name, first.kwargs.to_dict()) == ("mixup", {"alpha": 1.0, "per_batch": True})
  second = m.get_config("mislas_zhong")
  assert second.model.retrain == ("tune_head_shift_bn" if shift else "tune_head")
  assert second.data.sampler == "class_balanced" and second.optimizer.schedule == "cosine"
  assert second.data.mix.name == "none" and m.STARTS_FROM == {"mislas_zhong": "mixup_zhong"}


@pytest.mark.parametrize("variant, images, batch, iterations, drops", [
    ("ce_shu", 49_000, 100, 20_000, (18_000, 19_000)),
    ("l2rw_ren", 44_000, 100, 60_000, (40_000, 50_000))])
def test_iteration_counts_fall_on_the_nearest_epoch(variant, images, batch, iterations, drops):
  """The schedule counts epochs: each iteration count of the source lands on the epoch
  boundary nearest to it."""
  c = load_experiment("cifar_noisy").get_config(variant)
  assert c.train.batch_size == batch
  steps = images // batch
  assert c.train.epochs == round(iterations / steps)
  assert list(c.optimizer.decay_epochs) == [math.ceil(d / steps) for d in drops]
  assert all(abs(e * steps - d) < steps for e, d in zip(c.optimizer.decay_epochs, drops))


def test_the_meta_set_is_taken_before_the_cut():
  """REFERENCE.md: 12,380 training images at CIFAR-10 IR 100 after 10 a class."""
  assert protocol.exponential_profile(np.full(10, 5000 - 10), 100.0).sum() == 12_380
  assert protocol.exponential_profile(np.full(10, 5000), 100.0).sum() == 12_406


# REFERENCE.md, "Published results" (top-1 %): the figures each source-named variant quotes
_PUBLISHED = {
    "ldam_drw_cao": ("77.03", "88.16", "42.04", "58.71"),
    "sigmoid_focal_cui": ("70.38", "86.66", "38.41", "55.78"),
    "cb_sigmoid_focal_cui": ("74.57",),
    "mwnet_shu": ("75.21", "87.84", "42.09", "58.46", "89.27", "67.73"),
    "l2rw_shu": ("74.16", "85.19", "40.23", "53.73"),
    "logit_adjusted_menon": ("77.67", "43.89"),
    "mixup_zhong": ("72.8", "39.5", "2.14", "8.82"),
    "mislas_zhong": ("82.5", "47.0", "3.66", "4.83"),
    "ce_shu": ("68.07", "51.11"),
    "l2rw_ren": ("86.92",),
    "data_parameters_saxena": ("71", "50.0"),
}


@pytest.mark.parametrize("variant", sorted(_PUBLISHED))
def test_the_readme_table_quotes_each_variants_published_figures(variant):
  readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "README.md")
  with open(readme, encoding="utf-8") as f:
    rows = " ".join(line for line in f if line.startswith("|") and f"`{variant}`" in line)
  assert rows, f"{variant} is not in the README's CIFAR table"
  assert all(figure in rows for figure in _PUBLISHED[variant]), rows
