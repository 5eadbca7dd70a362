"""The meta rules' hypergradients against central finite differences of L_val(theta'(.)).

A tiny float64 Keras model; the reference evaluates the virtual step directly
(theta' = theta - lr grad (1/B) sum_i w_i l_i, then the mean validation loss) for
perturbed weights, V-net parameters or alphas.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from framework.weights import Batch, MetaContext, Tables
from framework.weights.meta import (alpha_hypergradient, l2rw_weights, vnet, vnet_hypergradient,
                                    weight_hypergradient)
from framework.weights.meta.mwnet import init_vnet
from framework.weights.rule import RULES

LR, B, V, C = 0.5, 6, 5, 3


def _problem(seed=0):
  rng = np.random.default_rng(seed)
  init = lambda layer: keras.initializers.GlorotUniform(seed=10 * seed + layer)  # a fixed model
  model = keras.Sequential([keras.Input((4,)),
                            keras.layers.Dense(5, activation="tanh", dtype="float64",
                                               kernel_initializer=init(0)),
                            keras.layers.Dense(C, dtype="float64", kernel_initializer=init(1))])
  def per_example_loss(params, x, y):
    logits, _ = model.stateless_call(params, [], x, training=True)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
  x, vx = rng.normal(size=(B, 4)), rng.normal(size=(V, 4))
  y, vy = np.array([0, 1, 2, 0, 1, 2], np.int32), rng.integers(0, C, V).astype(np.int32)
  base = rng.uniform(0.5, 1.5, B)
  ctx = MetaContext(per_example_loss, [tf.constant(v.numpy()) for v in model.trainable_variables],
                    tf.constant(x), tf.constant(base), tf.constant(vx), tf.constant(vy), B, V)
  return ctx, tf.constant(y)


def _val_after_step(ctx, labels, weight):
  """L_val(theta'(w)), computed directly."""
  params = list(ctx.params)
  with tf.GradientTape() as tape:
    tape.watch(params)
    total = tf.reduce_sum(weight * ctx.per_example_loss(params, ctx.features, labels)) / B
  virtual = [p - LR * g for p, g in zip(params, tape.gradient(total, params))]
  return float(tf.reduce_mean(ctx.per_example_loss(virtual, ctx.val_features, ctx.val_labels)))


def _central(f, x, h=1e-5):
  grad = np.zeros_like(x)
  for i in range(x.size):
    e = np.zeros_like(x)
    e.flat[i] = h
    grad.flat[i] = (f(x + e) - f(x - e)) / (2 * h)
  return grad


def _assert_close(analytic, numeric):
  err = np.linalg.norm(analytic - numeric) / np.linalg.norm(numeric)
  assert err < 1e-3, (err, analytic, numeric)


@pytest.mark.parametrize("at", ["zero", "random"])
def test_weight_hypergradient_matches_finite_differences(at):
  ctx, labels = _problem()
  w0 = np.zeros(B) if at == "zero" else np.random.default_rng(1).uniform(0.2, 2.0, B)
  hyper = weight_hypergradient(ctx, labels, LR, None if at == "zero" else lambda l: tf.constant(w0))
  numeric = _central(lambda w: _val_after_step(ctx, labels, tf.constant(w)), w0)
  _assert_close(hyper.dweight.numpy(), numeric)
  np.testing.assert_allclose(float(hyper.val_loss), _val_after_step(ctx, labels, tf.constant(w0)),
                             rtol=1e-10)


def test_the_trainers_forward_pass_serves_the_virtual_step():
  """MetaContext.loss / backward (the trainer's forward pass, shared) give the hypergradient
  of the rule's own forward pass, and are used."""
  ctx, labels = _problem()
  weight_fn = lambda loss: tf.constant(np.linspace(0.5, 1.5, B))
  own = weight_hypergradient(ctx, labels, LR, weight_fn)
  params, calls = list(ctx.params), []
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(params)
    loss = ctx.per_example_loss(params, ctx.features, labels)
  def backward(cotangent):
    calls.append(cotangent)
    return tape.gradient(loss, params, output_gradients=cotangent)
  shared = weight_hypergradient(ctx._replace(loss=loss, backward=backward), labels, LR, weight_fn)
  assert len(calls) == 1
  np.testing.assert_array_equal(shared.dweight, own.dweight)
  np.testing.assert_array_equal(shared.val_loss, own.val_loss)


def test_l2rw_weights_are_the_normalised_negative_hypergradient():
  ctx, labels = _problem()
  numeric = _central(lambda w: _val_after_step(ctx, labels, tf.constant(w)), np.zeros(B))
  expected = np.maximum(-numeric, 0) / np.maximum(-numeric, 0).sum() * B
  assert (expected == 0).any() and (expected > 0).any(), "the problem should clip some examples"
  rule = RULES.build("l2rw", {"ema_decay": 0.5})
  view = Tables({"weight": tf.ones([B]), "running": tf.ones([B]), "kept": tf.ones([B])},
                {"alpha": tf.ones([C])})
  new = rule.meta(view, Batch(tf.range(B), labels), ctx)
  np.testing.assert_allclose(new.per_sample["weight"], expected, rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(new.per_sample["running"], 0.5 + 0.5 * expected, rtol=1e-4, atol=1e-6)
  np.testing.assert_array_equal(new.per_sample["kept"], 0.5 + 0.5 * (expected > 0))
  np.testing.assert_allclose(l2rw_weights(tf.constant([1.0, 2.0]), 2), [0.0, 0.0])  # sum == 0


@pytest.mark.parametrize("normalize", [False, True])
def test_mwnet_hypergradient_matches_finite_differences(normalize):
  ctx, labels = _problem()
  theta = {k: tf.constant(v, tf.float64) for k, v in init_vnet(8, seed=3).items()}
  grads, _ = vnet_hypergradient(theta, ctx, labels, LR, normalize)
  losses = ctx.per_example_loss(ctx.params, ctx.features, labels)
  for key in theta:
    def f(value, key=key):
      t = dict(theta, **{key: tf.constant(value.reshape(theta[key].shape))})
      v = vnet(t, losses)
      return _val_after_step(ctx, labels, ctx.base_weight * (v * B / tf.reduce_sum(v) if normalize
                                                             else v))
    _assert_close(grads[key].numpy().ravel(), _central(f, theta[key].numpy().ravel()))


def test_meta_alpha_hypergradient_matches_finite_differences():
  ctx, labels = _problem()
  alpha0 = np.array([0.5, 1.0, 1.5])
  sample = tf.constant(np.linspace(0.5, 1.0, B))
  grad, _ = alpha_hypergradient(tf.constant(alpha0), sample, ctx, labels, LR)
  f = lambda a: _val_after_step(ctx, labels, ctx.base_weight * sample * tf.gather(a, labels))
  _assert_close(grad.numpy(), _central(f, alpha0))


def test_meta_alpha_rule_takes_an_exponentiated_step_on_the_hypergradient():
  ctx, labels = _problem()
  ctx = ctx._replace(base_weight=tf.cast(ctx.base_weight, tf.float32))
  ctx64 = ctx._replace(base_weight=tf.cast(ctx.base_weight, tf.float64))
  alpha0 = np.array([0.5, 1.0, 1.5])
  f = lambda a: _val_after_step(ctx64, labels, ctx64.base_weight * tf.gather(a, labels))
  step = alpha0 * np.exp(-2.0 * _central(f, alpha0))
  rule = RULES.build("meta_alpha", {"meta_lr": 2.0, "inner_lr": LR})
  view = Tables({"weight": tf.ones([B])}, {"alpha": tf.constant(alpha0, tf.float32)})
  new = rule.meta(view, Batch(tf.range(B), labels), ctx)
  np.testing.assert_allclose(new.per_class["alpha"], step / step.mean(), rtol=1e-5)


@pytest.mark.parametrize("nesterov", [False, True])
def test_mwnet_sgd_steps_v_by_torch_sgd_on_the_normalised_hypergradient(nesterov):
  """meta_optimizer="sgd": two torch-SGD steps on V (momentum 0.9, wd 5e-4), each on the
  hypergradient through weights normalised by their sum, re-derived in NumPy."""
  ctx, labels = _problem()
  ctx = ctx._replace(base_weight=tf.cast(ctx.base_weight, tf.float32))
  ctx64 = ctx._replace(base_weight=tf.cast(ctx.base_weight, tf.float64))
  rule = RULES.build("mwnet", {"inner_lr": LR, "meta_lr": 0.1, "weight_decay": 5e-4,
                               "hidden": 8, "seed": 3, "normalize": True, "init": "random",
                               "meta_optimizer": "sgd", "meta_nesterov": nesterov})
  view = rule.init(B, C)
  assert set(view.shared) == {"vnet", "momentum"}
  theta = {k: v.astype(np.float64) for k, v in init_vnet(8, seed=3).items()}
  buffer = {k: np.zeros_like(v) for k, v in theta.items()}
  for _ in range(2):
    grads, _ = vnet_hypergradient({k: tf.constant(v) for k, v in theta.items()}, ctx64, labels,
                                  LR, normalize=True)
    for k in theta:
      g = grads[k].numpy() + 5e-4 * theta[k]
      buffer[k] = 0.9 * buffer[k] + g
      theta[k] = theta[k] - 0.1 * (g + 0.9 * buffer[k] if nesterov else buffer[k])
    view = rule.meta(view, Batch(tf.range(B), labels), ctx)
  for k in theta:
    np.testing.assert_allclose(view.shared["vnet"][k], theta[k], rtol=2e-4, atol=1e-6)
  v = vnet({k: tf.constant(t) for k, t in theta.items()},
           ctx.per_example_loss(ctx.params, ctx.features, labels)).numpy()
  np.testing.assert_allclose(view.per_sample["weight"], v * B / v.sum(), rtol=2e-4)
