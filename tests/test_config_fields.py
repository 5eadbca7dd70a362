"""The config's fields are declared once (framework.config.fields): the base config, the
checks and the launcher's help all come from that declaration."""

from __future__ import annotations

import json
import os

import pytest

from framework.config import base_config, fields
from framework.config.checks import (EPOCH_OR_FRACTION, EPOCHS_OR_FRACTIONS, integer, number,
                                     one_of, sequence_of)
from framework.errors import ConfigError
from framework.tools import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _leaves(config, prefix=""):
  """Dotted names of a ConfigDict's fields, kwargs mappings counted as one field."""
  out = []
  for key, value in config.items():
    if hasattr(value, "items") and key != "kwargs":
      out += _leaves(value, f"{prefix}{key}.")
    else:
      out.append(prefix + key)
  return out


def test_every_field_of_the_base_config_is_declared_with_a_doc():
  leaves = _leaves(base_config())
  assert sorted(leaves) == sorted(fields.FIELDS)
  for name in leaves:
    assert fields.FIELDS[name].doc.strip(), name
    assert "\n" not in fields.FIELDS[name].doc, name
  assert {"data.sampler", "optimizer.schedule", "strategy.name", "precision"} <= set(leaves)


def test_base_config_keeps_the_declared_order_and_defaults():
  """The order of config.json."""
  config = base_config()
  assert list(json.loads(config.to_json_best_effort())) == ["seed", "deterministic", "extra_modules", "data", "model",
                                    "loss", "class_weights", "rule", "optimizer", "train",
                                    "eval", "logging", "strategy", "precision", "variant"]
  assert config.optimizer.learning_rate == 1e-3 and config.data.long_tail.imbalance_ratio == 1.0
  config.model.kwargs["depth"] = 20  # each config has its own mutable defaults
  assert base_config().model.kwargs.to_dict() == {}


def test_a_new_field_is_one_declaration(monkeypatch):
  declared = dict(fields.FIELDS)
  declared["train.example_field"] = fields.Field(3, integer(1), "an example of a new field")
  monkeypatch.setattr(fields, "FIELDS", declared)

  config = base_config()
  assert config.train.example_field == 3
  config.train.example_field = 0
  with pytest.raises(ConfigError, match=r"^train.example_field=0 must be an integer >= 1$"):
    fields.check_fields(config)
  help_text = cli.help_text([f"--config={os.path.join(ROOT, 'experiments', 'default.py')}"],
                            "usage")
  assert "  train.example_field = 3  # an example of a new field; an integer >= 1" in help_text


def test_the_data_section_is_checked_alone():
  data = fields.defaults("data")
  fields.check_fields(data, "data")
  data.noise.rate = 1.0
  with pytest.raises(ConfigError, match=r"^data.noise.rate=1.0 must be a number in \[0, 1\)$"):
    fields.check_fields(data, "data")


@pytest.mark.parametrize("check, good, bad, words", [
    (integer(1), [1, 7], [0, 1.0, True, "1"], "an integer >= 1"),
    (number(above=0), [1e-9, 3], [0, -1, float("inf"), float("nan"), True], "a number > 0"),
    (number(at_least=1), [1, 2.5], [0.99], "a number >= 1"),
    (number(at_least=0, below=1), [0, 0.5], [1, -0.1], "a number in [0, 1)"),
    (number(above=0, below=1), [0.25], [0, 1], "a number in (0, 1)"),
    (number(above=0, at_most=1), [0.1, 1], [0, 1.01], "a number in (0, 1]"),
    (number(at_most=2), [-3, 2], [2.5], "a number <= 2"),
    (one_of("", "a"), ["", "a"], ["b", None], "one of '', a"),
    (sequence_of(number(at_least=0), "epochs >= 0 in order", increasing=True),
     [(), (1, 1, 2), [0]], [(2, 1), (-1,), "12", 3], "a list of epochs >= 0 in order"),
    (EPOCH_OR_FRACTION, [0, 1, 160, 1.0, 16.0, 0.0, 0.5, 0.8, 0.999],
     [-1, 1.5, 16.25, -0.5, True, "0.8", None, float("nan"), float("inf"), (0.8,)],
     "an epoch (an integer >= 0) or a fraction of the run (a number in (0, 1))"),
    (EPOCHS_OR_FRACTIONS, [(), (160, 180), (0.8, 0.9), [36.0, 38], (0.5, 0.5)],
     [(0.9, 0.8), (180, 160), (0.8, 180), (0, 0.5), (1.5,), 0.8, "0.8"],
     "a list of epochs (integers >= 0) or of fractions of the run (numbers in (0, 1)), not "
     "mixed, in increasing order"),
])
def test_each_numeric_and_choice_idiom_has_one_helper(check, good, bad, words):
  for value in good:
    check("f", value)
  for value in bad:
    with pytest.raises(ConfigError) as error:
      check("f", value)
    assert str(error.value) == f"f={value!r} must be {words}"


def test_a_schedule_field_holds_an_epoch_or_a_fraction_and_keeps_its_type():
  config = base_config()
  config.class_weights.start_epoch = 0.8  # a ConfigDict types a field by its default ...
  config.optimizer.warmup_epochs = 5      # ... these keep an int as an int, a float as a float
  assert (config.class_weights.start_epoch, config.optimizer.warmup_epochs) == (0.8, 5)
  assert type(config.optimizer.warmup_epochs) is int
  assert json.loads(config.to_json_best_effort())["class_weights"]["start_epoch"] == 0.8
  fields.check_fields(config)
  config.class_weights.start_epoch = 1.5
  with pytest.raises(ConfigError, match=r"^class_weights.start_epoch=1.5 must be an epoch "):
    fields.check_fields(config)


def test_a_name_field_consults_its_registry():
  config = base_config()
  config.data.sampler = "balanced"
  with pytest.raises(ConfigError) as error:
    fields.check_fields(config)
  assert str(error.value) == ("data.sampler='balanced' is not a known sampler; known: "
                              "class_balanced, instance, progressive, sqrt")
  fields.check_fields(config, skip=["data.sampler"])  # e.g. a component given as an object


@pytest.mark.parametrize("field, value, words", [
    ("optimizer.schedule", "linear", "is not a known schedule; known: constant, cosine, step"),
    ("strategy.name", "gpu", "is not a known strategy; known: default, mirrored, multi_worker, "
                             "one_device, tpu"),
    ("optimizer.name", "lion", "is not a known optimizer; known: adam, adamw, sgd, torch_sgd"),
    ("data.augment", "cutout", "is not a known augmentation; known: crop_flip, none, "
                               "reflect_crop_flip, resized_crop_flip"),
    ("precision", "float8", "must be one of float32, mixed_float16, mixed_bfloat16"),
    ("optimizer.weight_decay_mode", "l1", "must be one of l2, l2_all, decoupled"),
    ("eval.select_best", "f1", "must be one of '', accuracy, balanced_accuracy, macro_f1, "
                               "min_recall"),
    ("eval.tau_norm", "2", "must be '', 'auto' or a number in [0, 1]"),
])
def test_choice_lists_written_once_reach_the_error(field, value, words):
  config = base_config()
  section, key = field.rsplit(".", 1) if "." in field else ("", field)
  (config[section] if section else config)[key] = value
  with pytest.raises(ConfigError) as error:
    fields.check_fields(config)
  assert str(error.value) == f"{field}={value!r} {words}"


def test_list_shows_every_registry_a_field_names():
  from framework.train import components  # pylint: disable=g-import-not-at-top (TensorFlow)
  lines = components.listing().splitlines()
  for title in ("data.sampler (sampler)", "data.augment (augmentation)",
                "optimizer.schedule (schedule)", "strategy.name (strategy)",
                "optimizer.name (optimizer)", "model.name (model)"):
    assert title in lines
  schedules = lines.index("optimizer.schedule (schedule)")
  assert lines[schedules + 1:schedules + 4] == ["  constant", "  cosine", "  step"]
  assert any(line.startswith("  sgd(momentum=0.0, nesterov=False") for line in lines)
