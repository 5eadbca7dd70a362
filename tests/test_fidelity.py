"""Fidelity to the reference implementations, each against a float64 re-derivation of what
the authors' code computes: the LDAM-DRW batch loss under both reductions, Cui et al.'s
sigmoid class-balanced focal loss, data-parameter trajectories, and the meta rules'
virtual step at the model's scheduled learning rate."""

import math

import numpy as np
import pytest
import tensorflow as tf

import framework
from framework import losses as L
from framework.weights import Batch, StepResult, WeightState
from framework.weights.rules.data_parameters import temperature
from tests.helpers import synthetic_config, train_steps
from tests.test_meta_hypergradient import LR, _central, _problem, _val_after_step


def _np_effective_number(counts, beta):
  w = (1 - beta) / (1 - beta ** np.asarray(counts, np.float64))
  return w * len(counts) / w.sum()


def _np_ldam(y, z, counts, max_margin=0.5, scale=30.0):
  m = np.asarray(counts, np.float64) ** -0.25
  m *= max_margin / m.max()
  z = z.astype(np.float64).copy()
  z[np.arange(len(y)), y] -= m[y]
  z *= scale
  z -= z.max(1, keepdims=True)
  return -(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1)))


@pytest.mark.parametrize("normalize", ["batch", "weights"])
@pytest.mark.slow
def test_ldam_drw_batch_loss_under_both_reductions(normalize):
  """torch's CrossEntropyLoss(weight=w) means by sum_i w[y_i] ("weights"); "batch" by B."""
  config = synthetic_config(loss__name="ldam", model__kwargs={"hidden": (16,), "head": "cosine"},
                            class_weights__scheme="effective_number",
                            class_weights__kwargs={"beta": 0.9999},
                            class_weights__normalize=normalize)
  exp = train_steps(config, 0)
  index = next(iter(framework.data.stream.index_batches(len(exp.data.train), 32, config.seed)))
  x = exp.data.transform.eval(exp.data.train.features[index.numpy()])
  y = exp.data.train.labels[index.numpy()]
  z = exp.model(x, training=True).numpy()
  counts = exp.data.class_counts
  w = _np_effective_number(counts, 0.9999)[y]
  per_example = _np_ldam(y, z, counts)
  expected = (w * per_example).sum() / (w.sum() if normalize == "weights" else len(y))
  np.testing.assert_allclose(float(exp.trainer.train(1)), expected, rtol=1e-5)


def test_cui_sigmoid_class_balanced_focal_loss():
  """Cui et al.'s TF code: modulator exp(-g y x - g log1p(exp(-x))), BCE, times the
  example's class-balanced weight on every output, summed, over the number of positives."""
  rng = np.random.default_rng(2)
  counts, beta, gamma = np.array([500, 120, 30, 7]), 0.999, 2.0
  y = rng.integers(0, 4, 16)
  x = rng.normal(size=(16, 4)) * 3
  labels = np.eye(4)[y]
  modulator = np.exp(-gamma * labels * x - gamma * np.log1p(np.exp(-x)))
  bce = np.maximum(x, 0) - x * labels + np.log1p(np.exp(-np.abs(x)))
  weights = _np_effective_number(counts, beta)[y][:, None] * np.ones_like(x)
  reference = (weights * modulator * bce).sum() / labels.sum()
  ours = L.per_example(L.build_loss("sigmoid_focal", {"gamma": gamma}, {"num_classes": 4}))
  class_weights = L.effective_number(counts, beta)[y]
  np.testing.assert_allclose(np.mean(class_weights * ours(y, x).numpy()), reference, rtol=1e-6)


def _np_data_parameters(batches, grads, n, c, inst, cls, momentum=0.9):
  """The authors' loop: sparse momentum on the rows in the batch, L2 summed over the
  batch's members, every row clamped after every step. Returns sigma of every sample."""
  lo, hi = math.log(1 / 20), math.log(20)
  s_i, v_i = np.full(n, math.log(inst["init"])), np.zeros(n)
  s_c, v_c = np.full(c, math.log(cls["init"])), np.zeros(c)
  s_i, s_c = np.clip(s_i, lo, hi), np.clip(s_c, lo, hi)  # clamped before the first step
  for (index, label), (g_i, g_c) in zip(batches, grads):
    g = g_i + inst["wd"] * s_i[index]
    v_i[index] = momentum * v_i[index] + g
    s_i[index] -= inst["lr"] * v_i[index]
    occurrences = np.bincount(label, minlength=c)
    present = occurrences > 0
    g = g_c + cls["wd"] * occurrences * s_c
    v_c[present] = momentum * v_c[present] + g[present]
    s_c[present] -= cls["lr"] * v_c[present]
    s_i, s_c = np.clip(s_i, lo, hi), np.clip(s_c, lo, hi)
  return s_i, s_c


def test_data_parameter_trajectories_follow_the_reference():
  n, c = 12, 3
  rule = framework.RULES.build("data_parameters", {"preset": "imagenet"})
  state = WeightState(n, c, rule)
  rng = np.random.default_rng(5)
  batches, grads = [], []
  for _ in range(6):
    index = rng.choice(n, 5, replace=False)
    label = rng.integers(0, c, 5)
    batches.append((index, label))
    grads.append((rng.normal(size=5) * 0.5, rng.normal(size=c) * 0.5))
  for (index, label), (g_i, g_c) in zip(batches, grads):
    batch = Batch(tf.constant(index, tf.int64), tf.constant(label, tf.int32))
    view = state.gather(batch.index)
    zeros = view.map(tf.zeros_like)
    step_grads = zeros.replace(
        per_sample={"instance": {"log_temperature": tf.constant(g_i, tf.float32)}},
        per_class={"class": {"log_temperature": tf.constant(g_c, tf.float32)}})
    new = rule.update(view, batch, StepResult(tf.zeros([5]), tf.zeros([5, c]), tf.ones([5]),
                                              step_grads, tf.constant(0, tf.int64)))
    state.scatter(batch.index, new)
  s_i, s_c = _np_data_parameters(batches, grads, n, c,
                                 {"init": 0.001, "lr": 0.8, "wd": 1e-8},
                                 {"init": 1.0, "lr": 0.1, "wd": 1e-4})
  everyone = Batch(tf.range(n, dtype=tf.int64), tf.constant(np.arange(n) % c, tf.int32))
  sigma = temperature(state.gather(everyone.index), everyone, True, True).numpy()
  np.testing.assert_allclose(sigma, np.exp(s_c[np.arange(n) % c]) + np.exp(s_i), rtol=1e-5)


def test_presets_are_the_published_runs():
  rule = framework.RULES.build("data_parameters", {"preset": "cifar100_noisy"})
  tables = rule.init(4, 2)
  assert "instance" in tables.per_sample and "class" not in tables.per_class
  with pytest.raises(framework.ConfigError, match="preset='cifar10'"):
    framework.RULES.build("data_parameters", {"preset": "cifar10"}, field="rule")


def test_meta_virtual_step_at_the_models_learning_rate():
  """inner_lr="model": the virtual step takes the optimizer's rate of this step."""
  ctx, labels = _problem()
  ctx = ctx._replace(learning_rate=tf.constant(LR, tf.float64))
  rule = framework.RULES.build("meta_alpha", {"meta_lr": 2.0, "inner_lr": "model"})
  view = framework.Tables({"weight": tf.ones([6])}, {"alpha": tf.constant([0.5, 1.0, 1.5])})
  ctx32 = ctx._replace(base_weight=tf.cast(ctx.base_weight, tf.float32))
  new = rule.meta(view, Batch(tf.range(6), labels), ctx32)
  alpha0 = np.array([0.5, 1.0, 1.5])
  f = lambda a: _val_after_step(ctx, labels, ctx.base_weight * tf.gather(a, labels))
  step = alpha0 * np.exp(-2.0 * _central(f, alpha0))  # the finite-difference step at rate LR
  np.testing.assert_allclose(new.per_class["alpha"], step / step.mean(), rtol=1e-4)


@framework.register_rule("test_record_inner_lr")
def record_inner_lr() -> framework.Rule:
  """A meta rule that writes the virtual step's rate into a shared table."""
  def init(num_samples, num_classes):
    return framework.Tables(shared={"rate": tf.zeros([])})
  def meta(view, batch, ctx):
    return view.replace(shared={"rate": tf.cast(ctx.inner_lr("model"), tf.float32)})
  return framework.Rule(init=init, meta=meta)


@pytest.mark.slow
def test_the_trainer_passes_the_scheduled_rate():
  config = synthetic_config(rule__name="test_record_inner_lr", data__val_per_class=8,
                            optimizer__schedule="step", optimizer__decay_epochs=(1,),
                            optimizer__learning_rate=0.05)
  exp = train_steps(config, 0)
  spe = exp.steps_per_epoch
  exp.trainer.train(spe)  # the last step of epoch 0 runs at the base rate
  assert float(exp.state.numpy()["shared/rate"]) == pytest.approx(0.05)
  exp.trainer.train(2)    # epoch 1: decayed
  assert float(exp.state.numpy()["shared/rate"]) == pytest.approx(0.005)
