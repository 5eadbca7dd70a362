"""The `tfds` source under `tfds.testing.mock_data`: sizes, labels, decoded images, a short
run, and its one-line errors (no data.name, no package, an unknown name)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from framework.data import build, default_data_config
from framework.errors import ConfigError
from framework.data.stream import eval_batches
from tests.helpers import parameters, synthetic_config, train_steps


def make_cfg(**fields):
  cfg = default_data_config()
  cfg.update(fields)
  return cfg


def _mock(num_examples):
  return tfds.testing.mock_data(num_examples=num_examples,
                                policy=tfds.testing.MockPolicy.USE_CODE)


@pytest.mark.parametrize("name, shape", [("cifar10", (32, 32, 3)), ("mnist", (28, 28, 1))])
def test_sizes_labels_and_decoded_images(name, shape):
  with _mock(24):
    bundle = build(make_cfg(source="tfds", name=name))
    train, test = (tfds.data_source(name, split=s) for s in ("train", "test"))
    assert len(bundle.train) == 24 and len(bundle.test) == 24
    assert bundle.num_classes == 10 and bundle.input_shape == shape
    np.testing.assert_array_equal(bundle.test.labels, [int(test[i]["label"]) for i in range(24)])
    origin = bundle.info["train_origin"]  # training row i is TFDS row origin[i]
    np.testing.assert_array_equal(bundle.train.labels,
                                  [int(train[int(i)]["label"]) for i in origin])
    images = np.concatenate(list(eval_batches(bundle.test, 10, bundle.transform)
                                 .as_numpy_iterator()))
    assert images.shape == (24, *shape) and bundle.info["location"] == f"tfds:{name}"
    expected = np.stack([test[i]["image"] for i in range(24)])  # TFDS's own decoding
    np.testing.assert_allclose(images * 255.0, expected, atol=1e-3)


@pytest.mark.slow
def test_image_size_resizes_and_a_short_run_trains():
  config = synthetic_config(data__source="tfds", data__name="cifar10", data__image_size=16,
                            data__augment="crop_flip", model__name="linear", train__batch_size=8)
  config.data.long_tail.profile, config.data.long_tail.imbalance_ratio = "none", 1.0
  config.model.kwargs = {}
  with _mock(32):
    start = train_steps(config, 0)
    assert start.data.input_shape == (16, 16, 3)
    exp = train_steps(config, 3)
    assert exp.trainer.current_step == 3
    after = parameters(exp)
  assert all(np.isfinite(p).all() for p in after)
  assert not np.allclose(after[0], parameters(start)[0]), "training changed nothing"


def test_empty_name_is_one_line():
  with pytest.raises(ConfigError) as info:
    build(make_cfg(source="tfds"))
  assert str(info.value).startswith("data.name='' is empty") and "\n" not in str(info.value)


def test_unknown_name_is_one_line():
  with pytest.raises(ConfigError) as info:
    build(make_cfg(source="tfds", name="no_such_dataset_xyz"))
  message = str(info.value)
  assert message.startswith("data.name='no_such_dataset_xyz' is not a TensorFlow Datasets")
  assert "\n" not in message


def test_missing_package_is_one_line(monkeypatch):
  monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import now fails
  with pytest.raises(ConfigError) as info:
    build(make_cfg(source="tfds", name="cifar10"))
  assert "needs the optional tensorflow-datasets package" in str(info.value)
  assert "pip install tensorflow-datasets" in str(info.value)
