"""The backbones: parameter counts against the papers and an independent formula, training on
one device == two replicas, both heads, saving, and float32 logits in mixed precision."""

import keras
import numpy as np
import pytest

from framework.train import experiment as experiment_lib
from framework.errors import ConfigError
from framework.models import MODELS
from tests.helpers import parameters, synthetic_config

CIFAR = {"input_shape": (32, 32, 3), "num_classes": 10}
SMALL_APP = {"name": "MobileNetV2", "alpha": 0.35}


def _build(model, /, **kwargs):
  return MODELS.build(model, kwargs, field="model", context=CIFAR)


def _trainable(model) -> int:
  return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def _cifar_resnet_parameters(n: int, classes: int = 10) -> int:
  """He et al.'s CIFAR ResNet, counted by hand: a 3x3x3x16 stem conv and its BN (gamma,
  beta), per block two bias-free 3x3 convs with two BNs, option-A shortcuts (free), and
  a 64 -> classes dense layer with bias."""
  total, c_in = 16 * 3 * 9 + 2 * 16, 16
  for width in (16, 32, 64):
    for _ in range(n):
      total += c_in * width * 9 + width * width * 9 + 2 * 2 * width
      c_in = width
  return total + 64 * classes + classes


def test_resnet32_has_the_papers_parameter_count():
  assert _trainable(_build("resnet32")) == 464_154  # LDAM-DRW's ResNet-32, 10 classes
  assert _cifar_resnet_parameters(5) == 464_154


@pytest.mark.parametrize("name, n", [("resnet20", 3), ("resnet44", 7), ("resnet56", 9),
                                     ("resnet110", 18)])
def test_cifar_resnets_follow_the_architecture(name, n):
  model = _build(name)
  assert _trainable(model) == _cifar_resnet_parameters(n)
  convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
  assert len(convs) + 1 == 6 * n + 2  # the depth counts the convs and the dense head
  assert all(not c.use_bias for c in convs)


def test_big_backbones_match_the_papers_sizes():
  assert _trainable(_build("preact_resnet18")) == pytest.approx(11.17e6, rel=0.01)
  assert _trainable(_build("wrn28_10")) == pytest.approx(36.5e6, rel=0.01)


def _image_config(tmp_path, strategy, name, kwargs):
  rng = np.random.default_rng(0)
  path = tmp_path / "images.npz"
  np.savez(path, x=rng.integers(0, 256, (48, 32, 32, 3), dtype=np.uint8),
           y=np.arange(48) % 10)
  return synthetic_config(strategy, data__source="npz", data__path=str(path),
                          data__long_tail__profile="none", data__long_tail__imbalance_ratio=1.0,
                          model__name=name,
                          model__kwargs=kwargs, train__batch_size=8, train__val_batch_size=8,
                          optimizer__name="sgd", optimizer__learning_rate=0.01,
                          optimizer__kwargs={"momentum": 0.9})


def _flat(arrays) -> np.ndarray:
  return np.concatenate([np.ravel(a) for a in arrays])


# Every backbone's batch norm is layers.batch_norm: resnet20 runs resnet_cifar's blocks,
# the narrow WRN preact_stages (preact_resnet18's blocks too).
@pytest.mark.parametrize("name, kwargs", [("resnet20", {}), ("wrn", {"depth": 10, "width": 2})])
@pytest.mark.slow
def test_backbone_trains_alike_on_one_device_and_two_replicas(tmp_path, name, kwargs):
  """Two SGD steps; batch norm is synchronised across the replicas.

  The forward pass (first loss, batch-norm statistics) agrees to float32 rounding. The
  updates cannot, in general: summing over two replicas rounds differently, a ReLU input
  within rounding of 0 can flip its mask, and at initialisation the gradient is a sum of
  many cancelling terms, so one flip moves it by up to ~1% (one device in float32 against
  float64 differs as much). Hence the update's relative L2 distance, bounded by 0.1;
  unsynchronised statistics give ~0.6, and a few times 1e-6 when no mask flips.
  """
  runs = []
  for strategy in ("one_device", "mirrored"):
    exp = experiment_lib.build(_image_config(tmp_path, strategy, name, kwargs))
    start = parameters(exp)
    first_loss = float(exp.trainer.train(1))
    moving = [np.asarray(v.numpy()) for v in exp.model.non_trainable_variables]
    exp.trainer.train(1)
    runs.append((start, first_loss, moving, parameters(exp), exp))
  (start, loss_1, moving_1, end_1, _), (start_2, loss_2, moving_2, end_2, two) = runs
  assert two.strategy.num_replicas_in_sync == 2 and len(moving_1) > 0
  np.testing.assert_allclose(_flat(start_2), _flat(start))
  np.testing.assert_allclose(loss_2, loss_1, rtol=1e-5)
  np.testing.assert_allclose(_flat(moving_2), _flat(moving_1), rtol=1e-4, atol=1e-6)
  update_1, update_2 = _flat(end_1) - _flat(start), _flat(end_2) - _flat(start)
  assert np.linalg.norm(update_1) > 0, "training changed nothing"
  assert np.linalg.norm(update_2 - update_1) <= 0.1 * np.linalg.norm(update_1)


@pytest.mark.parametrize("name, kwargs", [("resnet20", {}), ("keras_app", SMALL_APP),
                                          ("keras_app", {"name": "ResNet50"})])
def test_cosine_head_gives_the_cosine_of_features_and_class_weights(name, kwargs):
  model = _build(name, head="cosine", **kwargs)
  x = np.random.default_rng(1).normal(size=(4, 32, 32, 3)).astype(np.float32)
  logits = keras.ops.convert_to_numpy(model(x))
  features = keras.ops.convert_to_numpy(
      keras.Model(model.inputs, model.get_layer("pool").output)(x))
  kernel = keras.ops.convert_to_numpy(model.get_layer("logits").kernel)
  expected = (features / np.linalg.norm(features, axis=1, keepdims=True)) @ (
      kernel / np.linalg.norm(kernel, axis=0, keepdims=True))
  np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-5)
  assert logits.shape == (4, 10) and np.all(np.abs(logits) <= 1 + 1e-6)


def test_keras_app_linear_head_and_clear_errors():
  model = _build("keras_app", **SMALL_APP)
  assert model.get_layer("logits").units == 10 and model.output.shape == (None, 10)
  for kwargs, words in [({"name": "ResNet51"}, ["model (keras_app)", "ResNet50", "MobileNetV2"]),
                        ({"name": "InceptionV3"}, ["at least 75x75"]),
                        ({"name": "MobileNetV2", "weights": "nowhere.h5"}, ["weights"]),
                        ({"name": "MobileNetV2", "classes": 3}, ["classes"]),
                        ({"head": "arc"}, ["head='arc'"])]:
    with pytest.raises(ConfigError) as e:
      _build("keras_app", **kwargs)
    assert all(w in str(e.value) for w in words) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize("kwargs, field", [({"depth": 33}, "depth=33"),
                                           ({"head": "cos"}, "head='cos'")])
def test_bad_backbone_kwargs_are_config_errors(kwargs, field):
  with pytest.raises(ConfigError, match=f"model \\(resnet_cifar\\): {field}"):
    _build("resnet_cifar", **kwargs)


@pytest.mark.parametrize("name, kwargs", [("resnet20", {"head": "cosine"}),
                                          ("wrn", {"depth": 10, "width": 1}),
                                          ("resnet32_bottleneck", {})])
def test_models_survive_save_and_load(tmp_path, name, kwargs):
  model = _build(name, **kwargs)
  x = np.random.default_rng(2).normal(size=(2, 32, 32, 3)).astype(np.float32)
  model.save(tmp_path / "model.keras")
  loaded = keras.saving.load_model(tmp_path / "model.keras")
  np.testing.assert_allclose(loaded(x), model(x), rtol=1e-5, atol=1e-6)
  assert [l.name for l in loaded.layers] == [l.name for l in model.layers]


def test_bottleneck_resnet32_sees_the_image_padded_by_three():
  """The logit-adjustment code's stem: zero pad 3, a valid 3x3 conv: 36 x 36 maps, then
  strides 1, 2, 2 to 9 x 9 before pooling."""
  model = _build("resnet32_bottleneck")
  assert model.get_layer("stem_conv").output.shape[1:3] == (36, 36)
  assert model.get_layer("final_bn").output.shape[1:] == (9, 9, 64)
  assert model.get_layer("stage2_block1_shortcut").kernel.shape == (1, 1, 16, 32)


def _all_layers(model):
  for layer in model.layers:
    yield from _all_layers(layer) if isinstance(layer, keras.Model) else (layer,)


@pytest.mark.parametrize("name, kwargs", [
    ("resnet20", {}), ("preact_resnet18", {"head": "cosine"}),
    ("wrn", {"depth": 10, "width": 1}), ("keras_app", SMALL_APP)])
def test_mixed_precision_backbones_give_float32_logits(name, kwargs):
  policy = keras.config.dtype_policy()
  keras.config.set_dtype_policy("mixed_float16")
  try:
    model = _build(name, **kwargs)
  finally:
    keras.config.set_dtype_policy(policy)
  logits = model(np.zeros((2, 32, 32, 3), np.float32), training=True)
  assert logits.dtype == "float32"
  convs = [l for l in _all_layers(model) if isinstance(l, keras.layers.Conv2D)]
  assert convs and all(c.compute_dtype == "float16" for c in convs)
  assert np.all(np.isfinite(keras.ops.convert_to_numpy(logits)))
