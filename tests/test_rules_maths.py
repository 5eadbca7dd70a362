"""Each built-in rule's maths on a hand-made view, against NumPy re-derivations."""

import math

import numpy as np
import pytest
import tensorflow as tf

import framework
from framework.weights.rules import combine, lambert_w0, project_to_simplex
from framework.weights.rules.superloss import superloss_sigma

C = 3
LABEL = np.array([0, 2, 2, 1, 0], np.int32)
INDEX = np.array([4, 0, 7, 2, 9], np.int64)
LOSS = np.array([0.2, 1.5, 0.7, 3.0, 0.05], np.float32)
BATCH = framework.Batch(tf.constant(INDEX), tf.constant(LABEL))


def build(name, **kwargs):
  return framework.RULES.build(name, kwargs, context={"num_classes": C, "num_samples": 10,
                                                      "class_counts": np.full(C, 4)})


def view_of(rule, **per_sample_rows):
  """The batch view of a fresh state, with some per-sample rows overridden."""
  state = framework.WeightState(10, C, rule)
  view = state.gather(tf.constant(INDEX))
  return view.replace(per_sample={k: tf.constant(v, tf.float32) for k, v in per_sample_rows.items()})


def result(view, grads=None):
  zeros = view.map(tf.zeros_like)
  return framework.StepResult(tf.constant(LOSS), tf.zeros([5, C]), tf.ones([5]),
                              zeros.replace(**(grads or {})), tf.constant(0, tf.int64))


def test_sgd_is_clipped_gradient_descent():
  rule = build("sgd", lr=2.0, lo=0.1, hi=1.0)
  w = np.array([1.0, 0.5, 0.2, 0.9, 1.0], np.float32)
  g = np.array([0.1, 0.1, 0.3, -0.5, 0.0], np.float32)
  view = view_of(rule, weight=w)
  new = rule.update(view, BATCH, result(view, {"per_sample": {"weight": tf.constant(g)}}))
  np.testing.assert_allclose(new.per_sample["weight"], np.clip(w - 2.0 * g, 0.1, 1.0), rtol=1e-6)


def test_exp_gradient_per_sample_and_per_class():
  rule = build("exp_gradient", eta=0.5, class_eta=0.2, decay=0.1, per_class=True)
  s0 = np.array([0.0, 0.3, -0.2, 1.0, 0.5], np.float32)
  view = view_of(rule, log_weight=s0)
  mod = rule.modulate(view, BATCH)
  np.testing.assert_allclose(mod.weight, 5 * np.exp(s0) / np.exp(s0).sum(), rtol=1e-5)
  assert abs(float(tf.reduce_mean(mod.weight)) - 1.0) < 1e-6
  new = rule.update(view, BATCH, result(view))
  s = 0.9 * s0 + 0.5 * LOSS
  np.testing.assert_allclose(new.per_sample["log_weight"], s, rtol=1e-5)
  m = 0.1 * np.log(np.mean(np.exp(s)))
  np.testing.assert_allclose(new.shared["log_mean"], m, rtol=1e-5)
  np.testing.assert_allclose(new.per_sample["weight"], np.exp(s - m), rtol=1e-5)
  class_loss = np.array([LOSS[LABEL == c].mean() for c in range(C)])
  q = np.exp(0.2 * class_loss) / np.exp(0.2 * class_loss).sum()
  np.testing.assert_allclose(new.per_class["alpha"], C * q, rtol=1e-5)
  np.testing.assert_allclose(np.mean(new.per_class["alpha"]), 1.0, rtol=1e-6)


def test_data_parameters_step():
  rule = build("data_parameters", inst_lr=0.5, inst_wd=0.01, class_lr=0.3, class_wd=0.1,
               momentum=0.9)
  s_inst = np.array([0.0, 0.5, -0.5, 2.9, 1.0], np.float32)
  v_inst = np.array([0.1, 0.0, -0.2, -1.0, 0.3], np.float32)
  view = view_of(rule).replace(per_sample={"instance": {
      "log_temperature": tf.constant(s_inst), "velocity": tf.constant(v_inst)}})
  s_cls = np.array([0.2, -0.1, 0.4], np.float32)
  v_cls = np.array([0.5, 0.5, 0.5], np.float32)
  view = view.replace(per_class={"class": {"log_temperature": tf.constant(s_cls),
                                           "velocity": tf.constant(v_cls)}})
  mod = rule.modulate(view, BATCH)
  sigma = np.exp(s_cls[LABEL]) + np.exp(s_inst)
  np.testing.assert_allclose(mod.logit_scale, 1 / sigma, rtol=1e-6)
  np.testing.assert_allclose(mod.weight, 1.0)
  g_inst = np.array([0.3, -0.2, 0.1, -0.5, 0.0], np.float32)
  g_cls = np.array([0.4, -0.3, 0.2], np.float32)
  batch = framework.Batch(BATCH.index, tf.constant([0, 2, 2, 0, 0], tf.int32))  # no class 1
  new = rule.update(view, batch, result(view, {
      "per_sample": {"instance": {"log_temperature": tf.constant(g_inst)}},
      "per_class": {"class": {"log_temperature": tf.constant(g_cls)}}}))
  v = 0.9 * v_inst + g_inst + 0.01 * s_inst
  s = np.clip(s_inst - 0.5 * v, math.log(1 / 20), math.log(20))
  np.testing.assert_allclose(new.per_sample["instance"]["velocity"], v, rtol=1e-5)
  np.testing.assert_allclose(new.per_sample["instance"]["log_temperature"], s, rtol=1e-5)
  assert s[3] == pytest.approx(math.log(20))  # clamped
  occurrences = np.array([3, 0, 2])  # the L2 term is summed over the batch's members
  vc = 0.9 * v_cls + g_cls + 0.1 * occurrences * s_cls
  sc = s_cls - 0.3 * vc
  sc[1], vc[1] = s_cls[1], v_cls[1]                       # absent class untouched
  np.testing.assert_allclose(new.per_class["class"]["velocity"], vc, rtol=1e-5)
  np.testing.assert_allclose(new.per_class["class"]["log_temperature"], sc, rtol=1e-5)
  np.testing.assert_allclose(new.per_sample["weight"],
                             1 / (np.exp(sc[[0, 2, 2, 0, 0]]) + np.exp(s)), rtol=1e-5)


def test_lambert_w0_reference_values():
  x = np.array([-1 / math.e, 0.0, math.e, 5.0], np.float32)
  np.testing.assert_allclose(lambert_w0(x), [-1.0, 0.0, 1.0, 1.3267], atol=1e-4)
  grid = np.concatenate([np.linspace(-1 / math.e, 0.5, 200), np.geomspace(0.5, 1e4, 100)])
  w = lambert_w0(grid.astype(np.float32)).numpy().astype(np.float64)
  np.testing.assert_allclose(w * np.exp(w), grid, rtol=2e-4, atol=2e-5)


def test_superloss_sigma_minimises_the_superloss():
  lam, tau = 0.5, math.log(C)
  loss = np.array([0.8, 1.0, 1.1, 2.0, 4.0, 9.0], np.float32)  # (l - tau) / lam >= -2/e
  sigma = superloss_sigma(tf.constant(loss), tau, lam).numpy()
  clamped = superloss_sigma(tf.constant([0.01, 0.5]), tau, lam).numpy()
  np.testing.assert_allclose(clamped, math.e, rtol=1e-5)  # below -2/e: W0(-1/e) = -1
  grid = np.geomspace(1e-4, 1e3, 200001)
  # stationary: d/dsigma [(l - tau) sigma + lam log^2 sigma] = 0
  np.testing.assert_allclose((loss - tau) + 2 * lam * np.log(sigma) / sigma, 0, atol=1e-5)
  for l, s in zip(loss[loss > tau], sigma[loss > tau]):  # convex there: the global minimum
    objective = (l - tau) * grid + lam * np.log(grid) ** 2
    assert s == pytest.approx(grid[np.argmin(objective)], rel=1e-3)


def test_superloss_step_loss_is_the_mean_superloss_and_tau_ema():
  rule = build("superloss", lam=0.25, tau="ema", ema_rate=0.1)
  view = view_of(rule)
  tau = math.log(C)
  mod = rule.modulate(view, BATCH).resolve(tf.constant(LOSS))
  sigma = mod.weight.numpy()
  total = np.mean(sigma * LOSS) + float(mod.penalty)
  np.testing.assert_allclose(total, np.mean((LOSS - tau) * sigma + 0.25 * np.log(sigma) ** 2),
                             rtol=1e-5)
  assert np.all(np.diff(sigma[np.argsort(LOSS)]) <= 0)  # higher loss, lower weight (e at the clamp)
  new = rule.update(view, BATCH, result(view))
  np.testing.assert_allclose(new.shared["tau"], 0.9 * tau + 0.1 * LOSS.mean(), rtol=1e-6)
  np.testing.assert_allclose(new.per_sample["weight"], sigma, rtol=1e-6)


def test_loss_ema():
  rule = build("loss_ema", rate=0.25, temperature=0.5)
  ema0 = np.array([1.0, 0.2, 2.0, 0.7, 1.1], np.float32)
  view = view_of(rule, loss_ema=ema0)
  mod = rule.modulate(view, BATCH)
  z0 = -ema0 / 0.5
  np.testing.assert_allclose(mod.weight, np.exp(z0) / np.mean(np.exp(z0)), rtol=1e-5)
  new = rule.update(view, BATCH, result(view))
  ema = 0.75 * ema0 + 0.25 * LOSS
  np.testing.assert_allclose(new.per_sample["loss_ema"], ema, rtol=1e-6)
  m = 0.9 * (-math.log(C) / 0.5) + 0.1 * np.log(np.mean(np.exp(-ema / 0.5)))
  np.testing.assert_allclose(new.per_sample["weight"], np.exp(-ema / 0.5 - m), rtol=1e-5)


def simplex_reference(v, radius=1.0):
  """Bisection on theta: sum max(v - theta, 0) = radius (independent of the sort method)."""
  lo, hi = v.min() - radius, v.max()
  for _ in range(200):
    mid = (lo + hi) / 2
    lo, hi = (mid, hi) if np.maximum(v - mid, 0).sum() > radius else (lo, mid)
  return np.maximum(v - (lo + hi) / 2, 0)


def test_project_to_simplex():
  rng = np.random.default_rng(0)
  v = rng.normal(size=(6, 7)).astype(np.float32) * 2
  v[0] = [5, 0, 0, 0, 0, 0, 0]
  for radius in (1.0, 3.0):
    out = project_to_simplex(tf.constant(v), radius).numpy()
    ref = np.stack([simplex_reference(r.astype(np.float64), radius) for r in v])
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(out.sum(-1), radius, rtol=1e-5)
  inside = np.array([0.2, 0.3, 0.5], np.float32)
  np.testing.assert_allclose(project_to_simplex(tf.constant(inside)), inside, atol=1e-7)


def test_view_transforms():
  view = framework.Tables({"weight": tf.constant([-1.0, 0.5, 4.0, 2.0])})
  out = combine.chain(combine.clip(0.0, 2.0), combine.mean_one())(view)
  np.testing.assert_allclose(out.per_sample["weight"], np.array([0, 0.5, 2, 2]) / 1.125)


@pytest.mark.parametrize("name, kwargs, needle", [
    ("sgd", {"lr": 0.0}, "lr=0.0"),
    ("sgd", {"lo": 2.0, "hi": 1.0}, "lo=2.0"),
    ("exp_gradient", {"eta": -1.0}, "eta=-1.0"),
    ("exp_gradient", {"decay": 1.0}, "decay=1.0"),
    ("exp_gradient", {"per_sample": False, "per_class": False}, "per_sample=False"),
    ("data_parameters", {"inst_lr": 0.0}, "inst_lr=0.0"),
    ("data_parameters", {"momentum": 1.5}, "momentum=1.5"),
    ("data_parameters", {"class_wd": -1e-4}, "class_wd=-0.0001"),
    ("superloss", {"lam": 0.0}, "lam=0.0"),
    ("superloss", {"tau": "median"}, "tau='median'"),
    ("loss_ema", {"temperature": 0.0}, "temperature=0.0"),
    ("loss_ema", {"rate": 0.0}, "rate=0.0"),
    ("loss_ema", {"lr": 0.1}, "rule.kwargs.lr"),
])
def test_bad_kwargs_are_one_line_config_errors(name, kwargs, needle):
  with pytest.raises(framework.ConfigError) as e:
    framework.RULES.build(name, kwargs, field="rule", context={"num_classes": C})
  message = str(e.value)
  assert needle in message and "\n" not in message, message


def test_elr_regularizer_and_target_follow_the_reference():
  rule = build("elr", lam=3.0, beta=0.7)
  state = framework.WeightState(10, C, rule)
  view = state.gather(tf.constant(INDEX))
  old = np.random.default_rng(4).dirichlet(np.ones(C), 5).astype(np.float32)
  view = view.replace(per_sample={"target": tf.constant(old)})
  logits = np.random.default_rng(5).normal(size=(5, C)).astype(np.float32) * 3
  p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
  p = np.clip(p, 1e-4, 1 - 1e-4)
  target = 0.7 * old + 0.3 * p / p.sum(1, keepdims=True)  # updated first, as the authors do
  reg = rule.modulate(view, BATCH).regularizer(tf.constant(logits))
  np.testing.assert_allclose(reg, 3.0 * np.log(1 - (target * p).sum(1)), rtol=1e-5)
  new = rule.update(view, BATCH, framework.StepResult(
      tf.constant(LOSS), tf.constant(logits), tf.ones([5]), view.map(tf.zeros_like),
      tf.constant(0, tf.int64)))
  np.testing.assert_allclose(new.per_sample["target"], target, rtol=1e-5)
  np.testing.assert_allclose(new.per_sample["agreement"], target[np.arange(5), LABEL], rtol=1e-5)


def test_co_teaching_selects_the_peers_small_loss_examples():
  from framework.weights.rules.co_teaching import keep_rate, peer_selection
  rng = np.random.default_rng(6)
  loss = rng.uniform(0, 3, (8, 2)).astype(np.float32)
  weights = peer_selection(tf.constant(loss), tf.constant(0.75)).numpy()
  for peer in (0, 1):  # peer p trains on the 6 smallest losses of the other peer
    chosen = np.argsort(loss[:, 1 - peer], kind="stable")[:6]
    expected = np.zeros(8)
    expected[chosen] = 8 / 6
    np.testing.assert_allclose(weights[:, peer], expected, rtol=1e-6)
  rates = [float(keep_rate(tf.constant(e * 7, tf.int64), 7, 0.4, 10)) for e in (0, 5, 10, 20)]
  np.testing.assert_allclose(rates, [1.0, 0.8, 0.6, 0.6], rtol=1e-6)  # 1 - min(T/T_k tau, tau)


def test_co_teaching_follows_the_trainers_step():
  """R(T) reads the step after the last update, so skipped steps do not delay it."""
  rule = framework.RULES.build("co_teaching", {}, context={"steps_per_epoch": 7})
  view = framework.WeightState(10, C, rule).gather(tf.constant(INDEX))
  peers = tf.ones([5, 2])
  new = rule.update(view, BATCH, framework.StepResult(
      tf.constant(np.stack([LOSS, LOSS], 1)), tf.zeros([5, C]), peers, view.map(tf.zeros_like),
      tf.constant(41, tf.int64)))
  assert int(new.shared["step"]) == 42
