"""Mixed examples (mixup, CutMix, Remix): targets against float64 NumPy re-derivations from
the papers, the stream's pairs a pure function of (seed, step) and the same on one device
and two replicas, and the mixed loss against the soft-target cross-entropy."""

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from framework.config import base_config, set_fields
from framework.data import mixing
from framework.data.stream import InputStreams
from framework.errors import ConfigError
from framework.train import conformance


def test_the_plan_is_a_pure_function_of_seed_and_step():
  mixer = mixing.mixup(alpha=0.4)
  a, b = mixer.plan(3, tf.constant(7), 64), mixer.plan(3, tf.constant(7), 64)
  for x, y in zip(a, b):
    np.testing.assert_array_equal(x.numpy(), y.numpy())
  assert sorted(a.partner.numpy()) == list(range(64))
  later = mixer.plan(3, tf.constant(8), 64)
  assert not np.array_equal(a.partner.numpy(), later.partner.numpy())
  assert not np.array_equal(a.lam.numpy(), mixer.plan(4, tf.constant(7), 64).lam.numpy())


def test_per_batch_draws_one_lam_and_one_box_for_the_batch():
  plan = mixing.cutmix(per_batch=True).plan(1, tf.constant(2), 16)
  assert len(set(plan.lam.numpy())) == 1 and len({tuple(c) for c in plan.centre.numpy()}) == 1
  per_example = mixing.cutmix().plan(1, tf.constant(2), 16)
  assert plan.lam.numpy()[0] == per_example.lam.numpy()[0]
  assert len(set(per_example.lam.numpy())) == 16
  np.testing.assert_array_equal(plan.partner.numpy(), per_example.partner.numpy())


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_lam_follows_beta_alpha_alpha(alpha):
  draws = np.concatenate([mixing.mixup(alpha).plan(0, tf.constant(s), 512).lam.numpy()
                          for s in range(8)])
  assert scipy.stats.kstest(draws, scipy.stats.beta(alpha, alpha).cdf).pvalue > 1e-3


def test_mixup_blends_features_by_lam():
  rng = np.random.default_rng(0)
  x, other = rng.normal(size=(5, 3, 3, 2)), rng.normal(size=(5, 3, 3, 2))
  lam = np.array([0.0, 0.25, 0.5, 0.9, 1.0])
  mixed, share = mixing.mixup().mix(tf.constant(x, tf.float32), tf.constant(other, tf.float32),
                                    tf.constant(lam, tf.float32), tf.zeros([5, 2]))
  expected = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * other
  np.testing.assert_allclose(mixed.numpy(), expected, atol=1e-6)
  np.testing.assert_allclose(share.numpy(), lam)


def _numpy_cutmix(h, w, lam, u_y, u_x):
  """Yun et al.'s box, from the paper: sides floor(H sqrt(1 - lam)), floor(W sqrt(1 - lam)),
  centre at an integer pixel, clipped; lam re-set to 1 - box area / image area."""
  cut_h, cut_w = int(h * np.sqrt(1 - lam)), int(w * np.sqrt(1 - lam))
  cy, cx = int(u_y * h), int(u_x * w)
  y1, y2 = np.clip(cy - cut_h // 2, 0, h), np.clip(cy + cut_h // 2, 0, h)
  x1, x2 = np.clip(cx - cut_w // 2, 0, w), np.clip(cx + cut_w // 2, 0, w)
  mask = np.zeros((h, w), bool)
  mask[y1:y2, x1:x2] = True
  return mask, 1 - (y2 - y1) * (x2 - x1) / (h * w)


def test_cutmix_pastes_the_papers_box_and_mixes_labels_by_its_area():
  h, w = 8, 6
  lam = np.array([0.3, 0.5, 0.8, 0.1, 0.6, 0.99])
  centre = np.array([[0.5, 0.5], [0.0, 0.0], [0.99, 0.99], [0.2, 0.9], [0.7, 0.1], [0.4, 0.4]])
  x = np.zeros((6, h, w, 3), np.float32)
  other = np.ones((6, h, w, 3), np.float32)
  mixed, share = mixing.cutmix().mix(tf.constant(x), tf.constant(other),
                                     tf.constant(lam, tf.float32), tf.constant(centre, tf.float32))
  for i in range(6):
    mask, expected_lam = _numpy_cutmix(h, w, lam[i], *centre[i])
    np.testing.assert_array_equal(mixed.numpy()[i, ..., 0] == 1, mask, err_msg=f"box {i}")
    assert share.numpy()[i] == pytest.approx(expected_lam, abs=1e-6)
  assert 0 < share.numpy()[1] < 1 and share.numpy()[1] > 0.5  # clipped at the corner


def _numpy_remix(lam, n_i, n_j, kappa=3.0, tau=0.5):
  """Chou et al. 2020, eq. (4)."""
  if n_i / n_j >= kappa and lam < tau:
    return 0.0
  if n_i / n_j <= 1 / kappa and 1 - lam < tau:
    return 1.0
  return lam


def test_remix_pushes_the_label_to_the_minority_class():
  counts = np.array([600.0, 200.0, 60.0])
  mixer = mixing.remix(counts)
  cases = [(0.3, 0, 2), (0.7, 0, 2), (0.3, 2, 0), (0.7, 2, 0), (0.2, 0, 1), (0.2, 1, 2),
           (0.6, 1, 0), (0.45, 0, 0), (0.5, 0, 2), (0.5, 2, 0)]
  lam, y_i, y_j = (np.array(c) for c in zip(*cases))
  got = mixer.label_weight(tf.constant(lam, tf.float32), tf.constant(y_i), tf.constant(y_j))
  expected = [_numpy_remix(l, counts[a], counts[b]) for l, a, b in cases]
  np.testing.assert_allclose(got.numpy(), expected, atol=1e-7)
  assert {0.0, 1.0} <= set(expected) and any(0 < e < 1 for e in expected)  # every branch


def _digits_config(**overrides):
  c = base_config()
  c.train.batch_size = 32
  set_fields(c, overrides)
  return c


def _first_batches(config, strategy):
  from framework import data as data_lib  # pylint: disable=g-import-not-at-top
  from framework.train import experiment  # pylint: disable=g-import-not-at-top
  bundle = data_lib.build(config.data)
  mixer = experiment._mixer(config, bundle, _NO_META,  # pylint: disable=protected-access
                            {"class_counts": bundle.class_counts})
  streams = InputStreams(strategy, bundle.train, 32, config.seed, transform=bundle.transform,
                         mixer=mixer)
  batch = next(streams.iterators(5)[0])
  local = {k: strategy.experimental_local_results(v) for k, v in batch.items()}
  return bundle, mixer, {k: np.concatenate([np.asarray(p) for p in v]) for k, v in local.items()}


class _NoMeta:  # what the mixing checks read of a rule
  meta = objective = None


_NO_META = _NoMeta()


@pytest.mark.parametrize("name", ["mixup", "cutmix", "remix"])
def test_the_stream_mixes_the_same_pairs_on_one_device_and_two_replicas(name):
  config = _digits_config(data__mix__name=name)
  one_device = tf.distribute.OneDeviceStrategy("/cpu:0")
  bundle, mixer, one = _first_batches(config, one_device)
  _, _, two = _first_batches(config, tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
  for key in one:
    np.testing.assert_allclose(one[key], two[key], atol=1e-6, err_msg=key)
  plan = mixer.plan(config.seed, tf.constant(5), 32)
  index = one["index"]
  np.testing.assert_array_equal(one["partner_index"], index[plan.partner.numpy()])
  np.testing.assert_array_equal(one["label"], bundle.train.labels[index])
  np.testing.assert_array_equal(one["partner_label"], bundle.train.labels[one["partner_index"]])
  x = bundle.train.examples.array.astype(np.float64)  # digits: no augmentation, no scaling
  if name == "mixup":
    lam = plan.lam.numpy()[:, None, None, None]
    expected = lam * x[index] + (1 - lam) * x[one["partner_index"]]
    np.testing.assert_allclose(one["features"], expected, atol=1e-5)
    np.testing.assert_allclose(one["mix"], plan.lam.numpy(), atol=1e-7)


@pytest.mark.parametrize("overrides, needle", [
    ({"data__mix__name": "cutmix", "data__source": "synthetic"}, "is not images"),
    ({"data__mix__name": "mixup", "data__mix__kwargs": {"alpha": 0.0}}, "data.mix (mixup): alpha"),
    ({"data__mix__name": "remix", "data__mix__kwargs": {"kappa": 0.5}}, "kappa=0.5"),
    ({"data__mix__name": "mixup", "data__mix__kwargs": {"beta": 1}}, "data.mix.kwargs.beta"),
    ({"data__mix__name": "mixop"}, "not a known mixing"),
    ({"data__mix__name": "cutmix", "data__mix__kwargs": {"per_batch": "yes"}}, "per_batch='yes'"),
    ({"data__mix__name": "mixup", "rule__name": "l2rw", "data__val_per_class": 4,
      "train__val_batch_size": 16},
     "meta rule"),
])
def test_bad_mixing_is_one_line(overrides, needle):
  from framework.train import experiment  # pylint: disable=g-import-not-at-top
  with pytest.raises(ConfigError) as error:
    experiment.build(_digits_config(**overrides))
  assert needle in str(error.value) and "\n" not in str(error.value)


# Rules whose weight is a per-sample table, a loss-dependent function, a regulariser and
# two peers; the meta rules are refused with mixing (above).
@pytest.mark.slow
@pytest.mark.parametrize("rule, mix", [("fixed", "mixup"), ("loss_ema", "remix"),
                                       ("data_parameters", "mixup"), ("superloss", "mixup"),
                                       ("elr", "remix"), ("co_teaching", "mixup")])
def test_mixing_conforms(rule, mix, tmp_path):
  checks = conformance.run_checks(rule, directory=str(tmp_path),
                                  overrides={"data__mix__name": mix})
  failed = [str(c) for c in checks if not c.passed]
  assert len(checks) == 7 and not failed, "\n".join(failed)


def _softmax_cross_entropy(logits, target):
  z = logits - logits.max(axis=1, keepdims=True)
  log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
  return -(target * log_p).sum(axis=1)


@pytest.mark.slow
@pytest.mark.parametrize("name, scheme", [("mixup", "none"), ("cutmix", "inverse_frequency")])
def test_the_mixed_loss_is_the_soft_target_cross_entropy(name, scheme):
  from framework.train import experiment  # pylint: disable=g-import-not-at-top
  config = _digits_config(data__mix__name=name, class_weights__scheme=scheme)
  exp = experiment.build(config)
  batch = next(exp.trainer.inputs.iterators(0)[0])
  logits = exp.model(batch["features"], training=True).numpy().astype(np.float64)
  loss = exp.trainer.train(1).numpy()
  num_classes = logits.shape[1]
  mix = batch["mix"].numpy().astype(np.float64)[:, None]
  target = (mix * np.eye(num_classes)[batch["label"].numpy()] +
            (1 - mix) * np.eye(num_classes)[batch["partner_label"].numpy()])
  class_weight = exp.trainer.class_weighting(0).numpy().astype(np.float64)
  weight = (target * class_weight).sum(axis=1)  # mix * w(y_i) + (1 - mix) * w(y_j)
  expected = np.mean(weight * _softmax_cross_entropy(logits, target))
  assert loss == pytest.approx(expected, rel=1e-5)
  assert not np.allclose(mix, 1.0)


@pytest.mark.slow
def test_a_resumed_run_mixes_as_the_uninterrupted_one(tmp_path):
  from framework.train import experiment  # pylint: disable=g-import-not-at-top
  config = _digits_config(data__mix__name="remix", rule__name="loss_ema")
  straight = experiment.build(config)
  straight.trainer.train(6)
  first = experiment.build(config)
  first.trainer.train(3)
  path = first.trainer.checkpoint().save(str(tmp_path / "ckpt"))
  resumed = experiment.build(config)
  resumed.trainer.checkpoint().restore(path)
  resumed.trainer.train(3)
  for a, b in zip(straight.model.trainable_variables, resumed.model.trainable_variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
  for key, value in straight.state.numpy().items():
    np.testing.assert_array_equal(value, resumed.state.numpy()[key], err_msg=key)
