"""Rules in the compiled trainer: non-default options on two replicas, the naive rule collapses,
DRO does not."""

import numpy as np
import pytest
import tensorflow as tf

import framework
from framework.config import extra_modules
from framework.train import experiment as experiment_lib
from tests.helpers import parameters, synthetic_config, tables, train_steps

pytestmark = pytest.mark.slow  # every test trains or starts a process


@pytest.mark.parametrize("name, kwargs", [
    ("exp_gradient", {"per_class": True, "class_eta": 0.5}),
    ("exp_gradient", {"per_sample": False, "per_class": True}),
    ("data_parameters", {"per_class": False, "inst_lr": 5.0}),
    ("superloss", {"tau": "ema", "lam": 0.25}),
    ("sgd", {"lr": 5.0, "hi": 1.0}),
])
def test_non_default_options_match_on_two_replicas(name, kwargs):
  one = train_steps(synthetic_config(rule__name=name, rule__kwargs=kwargs), 5)
  two = train_steps(synthetic_config("mirrored", rule__name=name, rule__kwargs=kwargs), 5)
  t1, t2 = tables(one), tables(two)
  fresh = tables(experiment_lib.build(one.config))
  changed = [k for k, v in t1.items() if not np.array_equal(v, fresh.get(k))]
  assert changed, "the rule changed no table"
  for key in t1:
    assert np.all(np.isfinite(t1[key])), key
    np.testing.assert_allclose(t1[key], t2[key], atol=1e-5, rtol=1e-5, err_msg=key)
  for a, b in zip(parameters(one), parameters(two)):
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)


def per_example_loss(exp):
  logits = exp.model(exp.data.train.features, training=False)
  return tf.keras.losses.sparse_categorical_crossentropy(
      exp.data.train.labels, logits, from_logits=True).numpy()


def spearman(a, b):
  ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
  return float(np.corrcoef(ra, rb)[0, 1])


def run_epochs(name, kwargs, epochs):
  config = synthetic_config(rule__name=name, rule__kwargs=kwargs, train__epochs=epochs)
  exp = experiment_lib.build(config)
  means = [float(tables(exp)["per_sample/weight"].mean())]
  for _ in range(epochs):
    exp.trainer.train(exp.steps_per_epoch)
    means.append(float(tables(exp)["per_sample/weight"].mean()))
  return exp, np.array(means)


def test_sgd_collapses_while_exp_gradient_keeps_mean_one_and_ranks_hard_examples():
  _, means = run_epochs("sgd", {"lr": 5.0}, epochs=4)
  assert np.all(np.diff(means) < 0), means           # only ever shrinks
  assert means[-1] < 0.5 * means[0], means          # well below the start
  exp, _ = run_epochs("exp_gradient", {"eta": 0.2}, epochs=4)
  weight = tables(exp)["per_sample/weight"]
  for start in range(0, 192, 32):                   # the step's weights have mean exactly 1
    idx = tf.range(start, start + 32, dtype=tf.int64)
    labels = tf.constant(exp.data.train.labels[start:start + 32])
    modulation = exp.rule.modulate(exp.state.gather(idx), framework.Batch(idx, labels))
    assert float(tf.reduce_mean(modulation.weight)) == pytest.approx(1.0, abs=1e-5)
  seen = tables(exp)["per_sample/log_weight"] != 0
  assert seen.mean() > 0.9
  rho = spearman(weight[seen], per_example_loss(exp)[seen])
  assert rho > 0.5, rho


def test_example_rule_loads_through_extra_modules(monkeypatch):
  # The conformance module may have imported it already; unregister so the run loads it.
  monkeypatch.delitem(framework.RULES._factories, "example_focal_weights", raising=False)
  monkeypatch.setattr(extra_modules, "_LOADED_FILES", set())  # nor as a file already run
  config = synthetic_config(rule__name="example_focal_weights", rule__kwargs={"gamma": 1.0},
                            extra_modules=("tests/example_rule.py",))
  exp = train_steps(config, 3)
  weight = tables(exp)["per_sample/weight"]
  seen = weight != 1.0
  assert seen.sum() >= 90 and np.all((weight[seen] > 0) & (weight[seen] < 1))
  assert exp.trainer.trace_count == 1
