"""DivideMix: its step's loss against a NumPy re-derivation, its runs and its variants."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import framework
from framework.models import PeerModel
from framework.train import conformance, experiment
from framework.weights.rules.dividemix.rule import CLEAN, _mix_partners

B, F, C, SPE = 6, 3, 3, 5
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, F)).astype(np.float32)
LABEL = np.array([0, 1, 2, 0, 1, 2], np.int32)
CLEAN_BY_PEER = np.array([[0.9, 0.2], [0.1, 0.7], [0.6, 0.55], [0.3, 0.4], [0.8, 0.95],
                          [0.45, 0.05]], np.float32)


def softmax(z):
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def sharpen(p, t=0.5):
  p = p ** (1 / t)
  return p / p.sum(-1, keepdims=True)


def peers():
  networks = [keras.Sequential([keras.Input((F,)), keras.layers.Dense(C)]) for _ in range(2)]
  for seed, network in enumerate(networks):
    rng = np.random.default_rng(10 + seed)
    network.set_weights([rng.normal(size=(F, C)).astype(np.float32),
                         rng.normal(size=C).astype(np.float32)])
  return PeerModel(networks), [n.get_weights() for n in networks]


def objective_loss(step, warm_up=2, lambda_u=25.0):
  rule = framework.RULES.build("dividemix", {"warm_up": warm_up, "lambda_u": lambda_u},
                               context={"steps_per_epoch": SPE})
  model, _ = peers()
  view = framework.Tables(per_sample={CLEAN: tf.constant(CLEAN_BY_PEER)})
  out = rule.objective(view, framework.Batch(tf.range(B, dtype=tf.int64), tf.constant(LABEL)),
                       model, tf.constant(X), tf.constant(step, tf.int64))
  return float(tf.reduce_sum(out.terms)) / B + float(out.penalty)


def expected_loss(step, warm_up=2, lambda_u=25.0):
  """The authors' loss per peer, summed over the two peers, in NumPy (float64)."""
  _, weights = peers()
  x, y = X.astype(np.float64), np.eye(C)[LABEL]
  probs = [softmax(x @ w + b) for w, b in weights]
  epoch = step / SPE
  if epoch < warm_up:
    return sum(-np.log(p[np.arange(B), LABEL]).mean() for p in probs)
  guess = sharpen((probs[0] + probs[1]) / 2)
  total = 0.0
  for k, (w_k, b_k) in enumerate(weights):
    clean = CLEAN_BY_PEER[:, 1 - k].astype(np.float64)[:, None]
    labelled = clean[:, 0] > 0.5
    targets = np.where(labelled[:, None], sharpen(clean * y + (1 - clean) * probs[k]), guess)
    lam, perm = (np.asarray(v) for v in _mix_partners(tf.constant(step, tf.int64), k, 4.0, B))
    lam = max(lam, 1 - lam)
    mixed_x, mixed_t = lam * x + (1 - lam) * x[perm], lam * targets + (1 - lam) * targets[perm]
    q = softmax(mixed_x @ w_k + b_k)
    lx = -(mixed_t * np.log(q)).sum(1)[labelled].mean()
    lu = ((q - mixed_t) ** 2)[~labelled].mean()
    ramp = lambda_u * np.clip((epoch - warm_up) / 16, 0, 1)
    prior = np.full(C, 1 / C)
    total += lx + ramp * lu + (prior * np.log(prior / q.mean(0))).sum()
  return total


@pytest.mark.parametrize("step", [3, 22, 200])  # warm-up, ramping, ramped
def test_the_step_loss_is_the_authors(step):
  assert objective_loss(step) == pytest.approx(expected_loss(step), rel=2e-5)


def test_bad_kwargs_fail_in_one_line():
  with pytest.raises(framework.ConfigError, match="p_threshold=1.5"):
    framework.RULES.build("dividemix", {"p_threshold": 1.5}, field="rule",
                          context={"steps_per_epoch": 3})


def fmnist_tiny(strategy="one_device"):
  """The fmnist_noisy protocol's DivideMix on the synthetic data, warm-up one epoch."""
  return conformance.synthetic_config(strategy, rule__name="dividemix",
                                      rule__kwargs={"warm_up": 1, "lambda_u": 25.0})


@pytest.mark.slow
def test_one_device_equals_two_replicas_after_the_warm_up():
  one, two = experiment.build(fmnist_tiny()), experiment.build(fmnist_tiny("mirrored"))
  spe = one.trainer.steps_per_epoch
  for exp in (one, two):
    exp.trainer.train(spe)
    exp.trainer.train(3)
  clean = one.state.numpy()["per_sample/clean"]
  assert clean.shape == (len(one.data.train), 2) and 0 < clean.min() < clean.max() <= 1
  runs = {"one device": one, "two replicas": two}
  for check in (conformance.check_single_trace(runs), conformance.check_finite(runs),
                conformance.check_replicas(one, two)):
    assert check.passed, str(check)


@pytest.mark.parametrize("module, variant", [("fmnist_noisy", "dividemix"),
                                             ("cifar_noisy", "dividemix_li")])
def test_variants(module, variant):
  config = framework.load_experiment(module).get_config(variant)
  assert config.rule.name == "dividemix"


@pytest.mark.slow
def test_resume_after_its_division_is_bit_identical(tmp_path):
  whole = experiment.build(fmnist_tiny())
  spe = whole.trainer.steps_per_epoch
  for length in (spe, 2, 2):
    whole.trainer.train(length)
  first = experiment.build(fmnist_tiny())
  first.trainer.train(spe)
  first.trainer.train(2)
  path = first.trainer.checkpoint().save(str(tmp_path / "ckpt"))
  resumed = experiment.build(fmnist_tiny())
  resumed.trainer.checkpoint().restore(path).assert_existing_objects_matched()
  resumed.trainer.train(2)
  for key, value in whole.state.numpy().items():
    np.testing.assert_array_equal(resumed.state.numpy()[key], value, err_msg=key)
  for a, b in zip(whole.model.trainable_variables, resumed.model.trainable_variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())
