"""Every user error is a one-line ConfigError naming the field, the value and what is allowed."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from framework.data import DATASETS, Arrays, Source, build, default_data_config
from framework.errors import ConfigError


def make_cfg(long_tail=None, noise=None, **fields):
  cfg = default_data_config()
  cfg.update(fields)
  cfg.long_tail.update(long_tail or {})
  cfg.noise.update(noise or {})
  return cfg


def _csv(tmp_path, text, name="d.csv"):
  path = tmp_path / name
  path.write_text(text)
  return str(path)


GOOD_CSV = "a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n1,1,0\n2,2,1\n3,3,0\n4,4,1\n"


def _npz(tmp_path, **arrays):
  np.savez(tmp_path / "d.npz", **arrays)
  return str(tmp_path / "d.npz")


# (id, function tmp_path -> cfg fields, substrings the message must contain)
CASES = [
    ("unknown_source", lambda p: dict(source="cifar"),
     ["data.source='cifar'", "known:", "fashion_mnist", "synthetic"]),
    ("imbalance_ratio_below_1", lambda p: dict(long_tail=dict(profile="exponential",
                                                              imbalance_ratio=0.5)),
     ["data.long_tail.imbalance_ratio=0.5", ">= 1"]),
    ("unknown_profile", lambda p: dict(long_tail=dict(profile="linear")),
     ["data.long_tail.profile='linear'", "exponential", "step"]),
    ("ratio_without_profile", lambda p: dict(long_tail=dict(imbalance_ratio=10)),
     ["data.long_tail.imbalance_ratio=10", "profile"]),
    ("ratio_empties_class", lambda p: dict(long_tail=dict(profile="step", imbalance_ratio=1e6)),
     ["data.long_tail.imbalance_ratio=1000000.0", "no examples"]),
    ("unknown_noise_kind", lambda p: dict(noise=dict(kind="pair", rate=0.2)),
     ["data.noise.kind='pair'", "symmetric", "class_flip"]),
    ("noise_rate_1", lambda p: dict(noise=dict(kind="symmetric", rate=1.0)),
     ["data.noise.rate=1.0", "[0, 1)"]),
    ("noise_rate_negative", lambda p: dict(noise=dict(kind="symmetric", rate=-0.1)),
     ["data.noise.rate=-0.1", "[0, 1)"]),
    ("rate_without_kind", lambda p: dict(noise=dict(rate=0.2)), ["data.noise.rate=0.2", "kind"]),
    ("test_fraction", lambda p: dict(test_fraction=1.0), ["data.test_fraction=1.0", "(0, 1)"]),
    ("negative_seed", lambda p: dict(seed=-1), ["data.seed=-1", ">= 0"]),
    ("val_per_class_too_large", lambda p: dict(val_per_class=200),
     ["data.val_per_class=200", "smallest class"]),
    ("train_size_too_large", lambda p: dict(train_size=5000), ["data.train_size=5000", "1346"]),
    ("num_classes_vs_fixed_source", lambda p: dict(num_classes=5),
     ["data.num_classes=5", "10 classes"]),
    ("synthetic_classes", lambda p: dict(source="synthetic", synthetic_classes=1),
     ["data.synthetic_classes=1", ">= 2"]),
    ("path_empty", lambda p: dict(source="csv"), ["data.path=''", "csv"]),
    ("path_missing", lambda p: dict(source="npz", path=str(p / "nope.npz")),
     ["data.path=", "nope.npz", "not a readable file"]),
    ("test_path_missing", lambda p: dict(source="csv", path=_csv(p, GOOD_CSV),
                                         test_path=str(p / "nope.csv")),
     ["data.test_path=", "nope.csv"]),
    ("csv_no_label_column", lambda p: dict(source="csv", path=_csv(p, "a,b,y\n1,2,0\n3,4,1\n")),
     ["data.label_column='label'", "columns found: a, b, y"]),
    ("csv_no_importance_column", lambda p: dict(source="csv", path=_csv(p, GOOD_CSV),
                                                importance_column="w"),
     ["data.importance_column='w'", "columns found: a, b, label"]),
    ("csv_numbers_and_names", lambda p: dict(
        source="csv", path=_csv(p, "a,label\n1,0\n2,1\n3,?\n4,1\n")),
     ["data.label_column='label'", "mixes numbers and names", "'?'", "line 4"]),
    ("csv_negative_label", lambda p: dict(source="csv", path=_csv(p, "a,label\n1,0\n2,-1\n"),
                                          remap_labels=False),
     ["data.label_column='label'", "-1"]),
    ("csv_infinite_feature", lambda p: dict(
        source="csv", path=_csv(p, "a,b,label\n1,inf,0\n2,3,1\n3,4,0\n4,5,1\n")),
     ["data.path=", "column 'b'", "infinite"]),
    ("csv_labels_outside_num_classes", lambda p: dict(source="csv", path=_csv(p, GOOD_CSV),
                                                      num_classes=1),
     ["data.num_classes=1", "[0, 1)"]),
    ("single_inferred_class", lambda p: dict(source="csv", path=_csv(p, "a,label\n1,0\n2,0\n")),
     ["data.num_classes=0", "at least 2"]),
    ("csv_test_missing_feature", lambda p: dict(
        source="csv", path=_csv(p, GOOD_CSV), test_path=_csv(p, "a,label\n1,0\n", "t.csv")),
     ["data.test_path=", "feature columns b", "columns found: a, label"]),
    ("npz_missing_arrays", lambda p: dict(source="npz", path=_npz(p, foo=np.zeros(3))),
     ["data.path=", "keys found: foo"]),
    ("npz_missing_importance", lambda p: dict(
        source="npz", path=_npz(p, x=np.zeros((4, 2)), y=np.arange(4) % 2),
        importance_column="w"),
     ["data.importance_column='w'", "keys found: x, y"]),
    ("npz_negative_importance", lambda p: dict(
        source="npz", path=_npz(p, x=np.zeros((4, 2)), y=np.arange(4) % 2,
                                w=np.array([1.0, -1.0, 1.0, 1.0])), importance_column="w"),
     ["data.importance_column='w'", ">= 0"]),
    ("npz_fractional_labels", lambda p: dict(
        source="npz", path=_npz(p, x=np.zeros((4, 2)), y=np.array([0, 0.5, 1, 1]))),
     ["data.path=", "0.5", "integer"]),
    ("npz_string_labels", lambda p: dict(
        source="npz", path=_npz(p, x=np.zeros((4, 2)), y=np.array(["a", "b", "a", "b"]))),
     ["data.path=", "non-numeric"]),
    ("npz_labels_outside_num_classes", lambda p: dict(
        source="npz", path=_npz(p, x=np.zeros((4, 2)), y=np.array([0, 1, 2, 3])), num_classes=3),
     ["data.num_classes=3", "label 3"]),
]


@pytest.mark.parametrize("fields,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_config_errors_name_the_field(tmp_path, fields, expected):
  with pytest.raises(ConfigError) as info:
    build(make_cfg(**fields(tmp_path)))
  message = str(info.value)
  assert "\n" not in message
  for part in expected:
    assert part in message, (part, message)


def test_missing_files_without_network(tmp_path, monkeypatch):
  def no_network():
    raise OSError("URL fetch failure: [Errno -3] Temporary failure in name resolution")
  fake_keras = types.SimpleNamespace(datasets=types.SimpleNamespace(
      mnist=types.SimpleNamespace(load_data=no_network)))
  monkeypatch.setitem(sys.modules, "keras", fake_keras)
  monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
  with pytest.raises(ConfigError) as info:
    build(make_cfg(source="mnist", data_dir=str(tmp_path / "mine")))
  message = str(info.value)
  assert "\n" not in message
  for part in ["data.source='mnist'", f"data.data_dir={str(tmp_path / 'mine')!r}",
               str(tmp_path / "kh" / "datasets"), "name resolution"]:
    assert part in message, (part, message)


@DATASETS.register("tiny_for_tests")
def _tiny(cfg):
  del cfg
  x = np.arange(12, dtype=np.float32).reshape(6, 2)
  return Source(Arrays(x, np.array([0, 1, 0, 1, 0, 1])), Arrays(x[:2], np.array([0, 1])))


def test_registered_user_source_goes_through_the_protocol():
  bundle = build(make_cfg(source="tiny_for_tests", val_per_class=1))
  assert len(bundle.train) == 4 and len(bundle.val) == 2 and len(bundle.test) == 2
  assert bundle.class_names == ("0", "1")
  assert "tiny_for_tests" in str(pytest.raises(ConfigError, build, make_cfg(source="x")).value)
