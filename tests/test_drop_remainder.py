"""`data.drop_remainder=False`: every example once an epoch, the last batch padded and masked
(as PyTorch's DataLoader with drop_last=False), one trace, one device == two replicas."""

import numpy as np
import pytest
import tensorflow as tf

import framework
from framework.data import stream
from framework.data.bundle import factory_context
from framework.data.samplers import ClassSampler
from framework.data.stream import distributed_stream, index_batches, steps_per_epoch
from framework.train import conformance
from framework.train.distribute import make_strategy
from framework.weights.rules.combine import log_mean_exp, masked_mean
from framework.weights.rules.exp_gradient import class_mean_loss
from tests.helpers import synthetic_config, train_steps

CIFAR10_LT = 12_406  # CIFAR-10-LT, imbalance ratio 100


def _steps(num_examples, batch, count, **kwargs):
  stream_ = index_batches(num_examples, batch, seed=5, drop_remainder=False, **kwargs)
  return [(i, v) for i, v in stream_.take(count).as_numpy_iterator()]


def test_cifar10_lt_epoch_is_97_steps_seeing_every_index_once():
  assert steps_per_epoch(CIFAR10_LT, 128, drop_remainder=False) == 97
  assert steps_per_epoch(CIFAR10_LT, 128) == 96
  assert factory_context(np.array([CIFAR10_LT]), 128, False)["steps_per_epoch"] == 97
  steps = _steps(CIFAR10_LT, 128, 2 * 97)
  for epoch in range(2):
    rows = steps[epoch * 97:(epoch + 1) * 97]
    assert all(v.all() for _, v in rows[:-1])
    index, valid = rows[-1]
    assert valid.sum() == CIFAR10_LT - 96 * 128 == 118 and valid[:118].all()
    assert set(index[~valid]) <= set(index[valid])  # padding repeats the batch's own rows
    seen = np.concatenate([i[v] for i, v in rows])
    np.testing.assert_array_equal(np.sort(seen), np.arange(CIFAR10_LT))
  first, second = (np.concatenate([i for i, _ in steps[e * 97:(e + 1) * 97]]) for e in (0, 1))
  assert not np.array_equal(first, second)  # a fresh permutation each epoch


def test_resuming_on_a_padded_stream_continues_it():
  whole = _steps(50, 8, 30)  # 7 steps an epoch, the last with 2 real rows
  for start in (0, 6, 7, 13, 20):
    resumed = _steps(50, 8, 30 - start, start_step=start)
    for (i, v), (j, w) in zip(resumed, whole[start:]):
      np.testing.assert_array_equal(i, j)
      np.testing.assert_array_equal(v, w)


def test_sampler_epoch_is_n_draws_with_the_last_batch_padded():
  labels = np.repeat(np.arange(3), [30, 15, 5])
  sampler = ClassSampler(labels, "class_balanced")
  steps = _steps(50, 8, 7, sampler=sampler)
  valid = np.concatenate([v for _, v in steps])
  assert valid.sum() == 50 and not valid[50:].any()
  drawn = np.concatenate([i[v] for i, v in steps])
  np.testing.assert_array_equal(np.bincount(labels[drawn]), [17, 17, 16])


@pytest.mark.slow  # starts a mirrored strategy
def test_two_replicas_hold_the_halves_of_a_padded_batch():
  one = make_strategy(synthetic_config().strategy)
  two = make_strategy(synthetic_config("mirrored").strategy)
  split = train_steps(synthetic_config(), 0).data.train
  per_epoch = steps_per_epoch(len(split), 32, drop_remainder=False)
  a = iter(distributed_stream(one, split, 32, seed=0, drop_remainder=False))
  b = iter(distributed_stream(two, split, 32, seed=0, drop_remainder=False))
  for _ in range(per_epoch):
    whole, halves = next(a), next(b)
    for key in ("index", "valid"):
      parts = two.experimental_local_results(halves[key])
      np.testing.assert_array_equal(np.concatenate([p.numpy() for p in parts]),
                                    whole[key].numpy())
  assert whole["valid"].numpy().sum() == len(split) - (per_epoch - 1) * 32


def test_masked_batch_statistics_match_numpy():
  rng = np.random.default_rng(0)
  x, valid = rng.normal(size=9), np.array([1, 1, 0, 1, 1, 0, 1, 0, 1], bool)
  np.testing.assert_allclose(log_mean_exp(tf.constant(x), tf.constant(valid)),
                             np.log(np.mean(np.exp(x[valid]))), rtol=1e-12)
  np.testing.assert_allclose(masked_mean(tf.constant(x), tf.constant(valid)), x[valid].mean(),
                             rtol=1e-12)
  label = np.array([0, 1, 1, 2, 0, 0, 2, 1, 1])
  expected = [x[valid & (label == c)].mean() for c in range(3)]
  np.testing.assert_allclose(class_mean_loss(tf.constant(x), tf.constant(label), 3,
                                             tf.constant(valid, tf.float64)), expected,
                             rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("weighted", [False, True])
def test_padded_step_is_the_mean_over_its_real_examples(weighted):
  """SGD's update of the padded step equals lr times the gradient of the mean cross-entropy
  over the batch's real examples only (computed here on a copy of the model); with class
  weights averaged by the weights, sum w l / sum w over them (torch's weight=)."""
  config = synthetic_config(data__drop_remainder=False, optimizer__name="sgd",
                            optimizer__learning_rate=0.5, model__kwargs={"hidden": (8,)})
  if weighted:
    config.class_weights.scheme, config.class_weights.normalize = "inverse_frequency", "weights"
  exp = train_steps(config, 0)
  per_epoch, n = exp.steps_per_epoch, len(exp.data.train)
  exp.trainer.train(per_epoch - 1)
  before = [v.numpy() for v in exp.model.trainable_variables]
  index, valid = _steps_of(n, per_epoch - 1)  # the last step of the first epoch
  real = index[valid]
  assert 0 < len(real) < 32
  x = tf.constant(exp.data.train.examples.lookup_fn()(tf.constant(real)), tf.float32)
  y = exp.data.train.labels[real]
  model = tf.keras.models.clone_model(exp.model)
  model.set_weights(before)
  with tf.GradientTape() as tape:
    logits = tf.cast(model(exp.data.transform.eval(x)), tf.float64)
    w = tf.gather(tf.cast(exp.trainer.class_weighting(0), tf.float64), y) if weighted else 1.0
    ce = w * tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
    loss = tf.reduce_sum(ce) / tf.reduce_sum(w * tf.ones_like(ce))
  grads = tape.gradient(loss, model.trainable_variables)
  reported = exp.trainer.train(1).numpy()
  np.testing.assert_allclose(reported, loss.numpy(), rtol=1e-5)
  for b, g, after in zip(before, grads, exp.model.trainable_variables):
    np.testing.assert_allclose((b - after.numpy()) / 0.5, g.numpy(), rtol=1e-4, atol=1e-6)


def _steps_of(num_examples, step):
  """(index, valid) of the global batch at `step` of the synthetic run (seed 0, batch 32)."""
  batch = index_batches(num_examples, 32, seed=0, start_step=step, drop_remainder=False)
  index, valid = next(iter(batch))
  return index.numpy(), valid.numpy()


def _pad_with_the_first_real_row(used, per_epoch, global_batch):
  """Another padding of the last batch: every pad repeats its first real row."""
  position, valid = stream_padded_positions(used, per_epoch, global_batch)
  return tf.where(valid, position, (per_epoch - 1) * global_batch), valid


stream_padded_positions = stream.padded_positions
# every registered rule (but dividemix, which forms its own objective over full batches and
# is refused with a padded last batch), and the options that take statistics over the batch
RULES = [(n, {}) for n in framework.RULES.names()
         if not n.startswith(("example_", "test_")) and n != "dividemix"] + [
    ("superloss", {"tau": "ema"}), ("exp_gradient", {"per_class": True}),
    ("mwnet", {"normalize": True})]


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs", RULES, ids=[f"{n}{k or ''}" for n, k in RULES])
def test_every_rule_ignores_the_padding(name, kwargs, monkeypatch):
  """A padded epoch (and one step on) trains once, the same on one device and two
  replicas, and exactly as with other padding: no rule reads the padded rows."""
  config = lambda strategy: conformance.rule_config(name, kwargs, strategy=strategy)
  per_epoch = train_steps(_padded(config("one_device")), 0).steps_per_epoch
  one = train_steps(_padded(config("one_device")), per_epoch + 1)
  two = train_steps(_padded(config("mirrored")), per_epoch + 1)
  runs = {"one device": one, "two replicas": two}
  for check in (conformance.check_single_trace(runs), conformance.check_finite(runs),
                conformance.check_replicas(one, two)):
    assert check.passed, str(check)
  monkeypatch.setattr(stream, "padded_positions", _pad_with_the_first_real_row)
  other = train_steps(_padded(config("one_device")), per_epoch + 1)
  for key, value in one.state.numpy().items():
    np.testing.assert_allclose(other.state.numpy()[key], value, rtol=1e-6, atol=1e-7,
                               err_msg=key)
  for a, b in zip(conformance.parameters(one).values(),
                  conformance.parameters(other).values()):
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


def _padded(config):
  config.data.drop_remainder = False
  return config


def test_a_rule_forming_its_own_objective_takes_full_batches():
  from framework.errors import ConfigError  # pylint: disable=g-import-not-at-top
  from framework.train import experiment  # pylint: disable=g-import-not-at-top
  with pytest.raises(ConfigError, match="set data.drop_remainder=true"):
    experiment.build(synthetic_config(rule__name="dividemix", data__drop_remainder=False))
