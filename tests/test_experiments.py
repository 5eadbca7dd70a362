"""Every experiment file and variant builds a valid config; fmnist_lt follows the protocol.

Components are built from each variant's config (rule, loss, class weighting, model, data
checks) without training; the long-tail counts are checked against REFERENCE.md's list;
schedules given as fractions of the run resolve to the epochs the files used to name.
"""

from __future__ import annotations

import glob
import math
import os
import statistics
import subprocess
import sys

import ml_collections
import numpy as np
import pytest

from framework.config import fields, load_experiment
from framework import data as data_lib
from framework.errors import ConfigError
from framework.losses import build_class_weighting, build_loss, per_example
from framework.models import MODELS
from framework.studies import lt_table
from framework.sweeps import load_sweep, plan
from framework.sweeps.declaration import sweep_file
from framework.train.schedule import resolve_schedule
from framework.weights import RULES

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FILES = sorted(p for p in glob.glob(os.path.join(_REPO, "experiments", "*.py"))
                if not os.path.basename(p).startswith("_"))
# REFERENCE.md, "The project's own long-tailed protocol": floor(6000 * 0.01^(c/9)).
_LT_COUNTS = [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]


_CASES = [(os.path.basename(p), v) for p in _FILES for v in load_experiment(p).VARIANTS]


def test_experiment_files_found():
  names = [os.path.basename(p) for p in _FILES]
  assert "default.py" in names and "fmnist_lt.py" in names


def test_shipped_experiments_load_by_name_like_by_path():
  for path in _FILES:
    name = os.path.splitext(os.path.basename(path))[0]
    assert load_experiment(name).VARIANTS.keys() == load_experiment(path).VARIANTS.keys()


@pytest.mark.parametrize("filename,variant", _CASES)
def test_variant_builds_valid_components(filename, variant):
  c = load_experiment(os.path.join(_REPO, "experiments", filename)).get_config(variant)
  assert isinstance(c, ml_collections.ConfigDict) and c.variant == variant
  data_lib.check_config(data_lib.resolve_config(c.data))
  counts = np.array([50, 20, 5], np.int64)  # stand-in counts: the factories only need C > 1
  context = {"class_counts": counts, "num_classes": 3, "num_samples": int(counts.sum()),
             "steps_per_epoch": 10}
  rule = RULES.build(c.rule.name, c.rule.kwargs, field="rule", context=context)
  if rule.needs_validation:
    assert c.data.val_per_class > 0, "a validation-needing rule without a validation split"
  loss = per_example(build_loss(c.loss.name, c.loss.kwargs, context))
  labels, logits = np.array([0, 1, 2], np.int32), np.eye(3, dtype=np.float32)
  values = np.asarray(loss(labels, logits))
  assert values.shape == (3,) and np.isfinite(values).all()
  fields.check_fields(c)
  start_epoch = resolve_schedule(c, steps_per_epoch=10)["drw_start_epoch"]
  weighting = build_class_weighting(c.class_weights, counts, start_epoch=start_epoch)
  assert weighting.weights.shape == (3,) and (weighting.weights > 0).all()
  shape = {"small_cnn": (8, 8, 1), "resnet32": (32, 32, 3), "resnet32_bottleneck": (32, 32, 3),
           "wrn": (32, 32, 3), "preact_resnet18": (32, 32, 3)}.get(
      c.model.name, (16,))
  model = MODELS.build(c.model.name, c.model.kwargs, field="model",
                       context={"input_shape": shape, "num_classes": 3})
  assert model.output_shape[-1] == 3


@pytest.mark.parametrize("path", _FILES, ids=os.path.basename)
def test_unknown_variant_is_a_one_line_config_error(path):
  with pytest.raises(ConfigError) as e:
    load_experiment(path).get_config("no_such_variant")
  message = str(e.value)
  assert "\n" not in message and "no_such_variant" in message


def test_fmnist_lt_follows_the_protocol():
  c = load_experiment(os.path.join(_REPO, "experiments", "fmnist_lt.py")).get_config()
  assert c.variant == "ce"
  assert c.data.source == "fashion_mnist"
  assert c.data.long_tail.profile == "exponential"
  assert c.data.long_tail.imbalance_ratio == 100
  assert c.data.val_per_class == 0 and c.data.train_size == 0
  assert c.data.noise.kind == "none"
  assert c.model.name == "small_cnn"
  assert tuple(c.model.kwargs.filters) == (16, 32) and c.model.kwargs.dense == 64
  assert c.optimizer.name == "adam" and c.optimizer.learning_rate == 1e-3
  assert c.optimizer.schedule == "constant"
  assert c.train.batch_size == 128 and c.train.epochs == 10
  assert c.loss.name == "cross_entropy" and c.class_weights.scheme == "none"


def test_fmnist_lt_variants_differ_only_where_meant():
  m = load_experiment(os.path.join(_REPO, "experiments", "fmnist_lt.py"))
  ldam = m.get_config("ldam_drw")
  assert ldam.model.kwargs.head == "cosine" and ldam.loss.name == "ldam"
  assert ldam.class_weights.start_epoch == 0.8  # the paper's 160 / 200
  assert m.get_config("posthoc").eval.posthoc_tau == 1.0
  assert m.get_config("class_balanced").class_weights.kwargs.beta == 0.9999
  for v in m.VARIANTS:  # every variant keeps the protocol's data, model size and budget
    c = m.get_config(v)
    assert (c.data.source, c.data.long_tail.imbalance_ratio, c.train.batch_size,
            c.train.epochs) == ("fashion_mnist", 100, 128, 10)
    assert tuple(c.model.kwargs.filters) == (16, 32)
    # and its optimiser, but for the second stages, which follow their authors' recipes
    assert (c.optimizer.learning_rate == 1e-3) == (v not in ("wb", "mislas")), v
  for second, first in m.STARTS_FROM.items():
    assert m.get_config(second).model.retrain != "all" and first in m.VARIANTS
  wb, mislas = m.get_config("wb"), m.get_config("mislas")
  assert (wb.model.max_norm, wb.loss.name, wb.optimizer.weight_decay) == (0.1, "softmax_bce", 0.1)
  assert mislas.loss.kwargs.smooth_head == 0.3 and mislas.data.sampler == "class_balanced"
  assert m.get_config("remix").data.mix.name == "remix"


def test_fmnist_lt_counts_match_reference():
  c = load_experiment(os.path.join(_REPO, "experiments", "fmnist_lt.py")).get_config("ce")
  bundle = data_lib.build(c.data)
  assert bundle.class_counts.tolist() == _LT_COUNTS and sum(_LT_COUNTS) == 14886
  assert len(bundle.test.labels) == 10000
  assert np.bincount(bundle.test.labels).tolist() == [1000] * 10


def test_lt_table_summary_and_format():
  finals = [{"balanced_accuracy": 0.8, "macro_f1": 0.7, "min_recall": 0.1,
             "posthoc/balanced_accuracy": 0.85, "posthoc/macro_f1": 0.84,
             "posthoc/min_recall": 0.5},
            {"balanced_accuracy": 0.82, "macro_f1": 0.75, "min_recall": 0.2,
             "posthoc/balanced_accuracy": 0.87, "posthoc/macro_f1": 0.86,
             "posthoc/min_recall": 0.6}]
  plain = lt_table.summarize(finals)
  assert plain["balanced_accuracy"][0] == pytest.approx(81.0)
  assert plain["balanced_accuracy"][1] == pytest.approx(statistics.stdev([80.0, 82.0]))
  post = lt_table.summarize(finals, lt_table.metric_prefix("posthoc"))
  assert post["min_recall"][0] == pytest.approx(55.0)
  assert math.isnan(lt_table.summarize(finals[:1])["macro_f1"][1])
  table = lt_table.format_table({"ce": plain, "posthoc": post}, {"ce": 2, "posthoc": 2})
  lines = table.splitlines()
  assert lines[0] == "| method | balanced accuracy | macro-F1 | min recall | seeds |"
  assert lines[2] == "| ce | 81.0 ± 1.4 | 72.5 ± 3.5 | 15.0 ± 7.1 | 2 |"
  assert lines[3].startswith("| posthoc | 86.0 ± 1.4 | 85.0 ± 1.4 | 55.0 ± 7.1 |")


@pytest.mark.parametrize("study", ["lt_table", "noisy_table"])
@pytest.mark.slow
def test_study_rejects_a_bad_sweep_in_one_line(study):
  done = subprocess.run([sys.executable, "-m", f"framework.studies.{study}", "--sweep=nope"],
                        cwd=_REPO, capture_output=True, text=True, timeout=120)
  assert done.returncode == 1
  assert done.stderr.strip().startswith("error: --sweep=nope: no such file"), done.stderr
  assert len(done.stderr.strip().splitlines()) == 1


def test_fmnist_noisy_variants_keep_the_protocol():
  m = load_experiment(os.path.join(_REPO, "experiments", "fmnist_noisy.py"))
  for v in m.VARIANTS:  # every variant keeps the protocol's data, model and budget
    c = m.get_config(v)
    assert (c.data.source, c.data.noise.rate, c.data.train_size, c.data.val_per_class,
            c.model.name, c.train.batch_size, c.train.epochs) == (
                "fashion_mnist", 0.5, 10000, 100, "mlp", 128, 40)
  paper = load_experiment(os.path.join(_REPO, "experiments", "cifar_noisy.py")).get_config(
      "mwnet_shu").optimizer
  for v in ("ce_sgd", "mwnet_sgd"):  # the CIFAR recipe's rate, momentum and decay
    o = m.get_config(v).optimizer
    assert (o.learning_rate, o.kwargs.to_dict(), o.weight_decay) == (
        paper.learning_rate, paper.kwargs.to_dict(), paper.weight_decay)
  assert m.get_config("mwnet_sgd").rule.kwargs.inner_lr == "model"
  assert m.get_config("ce_wd").optimizer.weight_decay == paper.weight_decay


def test_digits_noisy_variants_keep_the_protocol_and_the_rules_settings(tmp_path):
  rules = {"data_parameters": {"per_class": False, "inst_lr": 20.0},
           "loss_ema": {"rate": 0.3, "temperature": 1.0}, "exp_gradient": {"eta": 0.1},
           "superloss": {"tau": "ema", "lam": 1.0}}
  m = load_experiment(os.path.join(_REPO, "experiments", "digits_noisy.py"))
  assert list(m.VARIANTS) == ["ce", *rules]
  for v in m.VARIANTS:
    c = m.get_config(v)
    assert (c.data.source, c.data.noise.kind, c.data.noise.rate, c.model.name,
            tuple(c.model.kwargs.hidden), c.train.batch_size, c.train.epochs,
            c.logging.snapshot_every_epochs) == (
                "digits", "symmetric", 0.4, "mlp", (256, 256), 128, 30, 1)
    assert (c.rule.name, c.rule.kwargs.to_dict()) == (
        ("fixed", {}) if v == "ce" else (v, rules[v]))
  path = sweep_file("digits_noise_auroc")  # the README's table: every variant at seeds 0-2
  runs = plan(load_sweep(path), path, str(tmp_path))
  assert sorted(r.name for r in runs) == sorted(f"{v}/seed{s}" for v in m.VARIANTS
                                                for s in (0, 1, 2))


# The epochs each experiment's schedule named as integers before fractions of the run
# (warm-up, decay epochs, DRW start), at its default length: by file, then by variant.
_EPOCHS_BEFORE_FRACTIONS = {
    "cifar10_lt.py": {"*": (5, [160, 180], 0), "ldam_drw_cao": (5, [160, 180], 160),
                      "mwnet_shu": (0, [80, 90], 0), "l2rw_shu": (0, [80, 90], 0),
                      "logit_adjusted_menon": (20, [604, 926, 1128], 0),
                      "mislas_zhong": (0, [], 0)},
    "cifar100_lt.py": {"*": (5, [160, 180], 0), "ldam_drw_cao": (5, [160, 180], 160),
                       "mwnet_shu": (0, [80, 90], 0), "l2rw_shu": (0, [80, 90], 0),
                       "logit_adjusted_menon": (22, [691, 1059, 1290], 0),
                       "mislas_zhong": (0, [], 0)},
    "cifar_noisy.py": {"*": (0, [37, 39], 0), "l2rw_ren": (0, [91, 114], 0),
                       "data_parameters_saxena": (0, [80, 100], 0),
                       "dividemix_li": (0, [150], 0)},
    "fmnist_lt.py": {"*": (0, [], 0), "ldam_drw": (0, [], 8)},
    "fmnist_noisy.py": {"*": (0, [], 0), "ce_sgd": (0, [36, 38], 0),
                        "mwnet_sgd": (0, [36, 38], 0)},
    "default.py": {"*": (0, [], 0)},
    "digits_noisy.py": {"*": (0, [], 0)},
    "tabular.py": {"*": (0, [], 0), "ldam_drw": (0, [], 20)},
}


@pytest.mark.parametrize("filename,variant", _CASES)
def test_schedules_resolve_to_the_epochs_of_before(filename, variant):
  """Same epochs at the default length, so the shipped runs train bit for bit as before."""
  c = load_experiment(os.path.join(_REPO, "experiments", filename)).get_config(variant)
  before = _EPOCHS_BEFORE_FRACTIONS[filename]
  schedule = resolve_schedule(c, steps_per_epoch=10)
  resolved = (schedule["warmup_epochs"], schedule["decay_epochs"], schedule["drw_start_epoch"])
  assert resolved == before.get(variant, before["*"])
  assert all(type(e) is int for e in (resolved[0], *resolved[1], resolved[2]))


@pytest.mark.parametrize("spec, epochs, warmup, decays, drw", [
    ("fmnist_lt:ldam_drw", 20, 0, [], 16), ("fmnist_lt:ldam_drw", 15, 0, [], 12),
    ("fmnist_noisy:ce_sgd", 20, 0, [18, 19], 0),
    ("cifar10_lt:ldam_drw_cao", 100, 5, [80, 90], 80),
    ("cifar100_lt:ce_ldam_recipe", 50, 5, [40, 45], 0)])
def test_schedules_follow_another_length(spec, epochs, warmup, decays, drw):
  name, variant = spec.split(":")
  c = load_experiment(name).get_config(variant)
  c.train.epochs = epochs
  schedule = resolve_schedule(c, steps_per_epoch=10)
  assert (schedule["warmup_epochs"], schedule["decay_epochs"],
          schedule["drw_start_epoch"]) == (warmup, decays, drw)
