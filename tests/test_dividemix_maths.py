"""DivideMix's maths on fixed float64 inputs, against NumPy re-derivations and sklearn."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.mixture import GaussianMixture

from framework.weights.rules import dividemix as dm

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
Q = np.array([[0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
ONE_HOT = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
LOGITS = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 1.5]])


def softmax(z):
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def test_min_max_normalisation():
  np.testing.assert_allclose(dm.min_max_normalised([2.0, 4.0, 3.0, 6.0]), [0, 0.5, 0.25, 1])
  np.testing.assert_array_equal(dm.min_max_normalised([1.5, 1.5]), [0.0, 0.0])


def test_clean_probability_is_sklearns_posterior_of_the_low_loss_component():
  rng = np.random.default_rng(3)
  losses = np.concatenate([rng.gamma(2.0, 0.1, 300), 2.0 + rng.gamma(2.0, 0.4, 100)])
  x = ((losses - losses.min()) / (losses.max() - losses.min()))[:, None]
  gmm = GaussianMixture(2, max_iter=10, tol=1e-2, reg_covar=5e-4, random_state=7).fit(x)
  expected = gmm.predict_proba(x)[:, gmm.means_.argmin()]
  got = dm.clean_probability(losses, seed=7)
  np.testing.assert_allclose(got, expected, rtol=1e-12)
  assert got[:300].mean() > 0.9 and got[300:].mean() < 0.1  # small losses are the clean ones
  np.testing.assert_array_equal(got, dm.clean_probability(losses, seed=7))  # repeatable


def test_sharpen():
  got = dm.sharpen(tf.constant(P), 0.5).numpy()
  np.testing.assert_allclose(got[0], np.array([49, 4, 1]) / 54.0, rtol=1e-12)
  np.testing.assert_allclose(got[1], np.array([1, 9, 36]) / 46.0, rtol=1e-12)


def test_co_refinement_blends_label_and_prediction_then_sharpens():
  w = np.array([0.8, 0.0])
  got = dm.co_refine(tf.constant(ONE_HOT), tf.constant(w), tf.constant(P), 0.5).numpy()
  first = np.array([0.14, 0.84, 0.02]) ** 2           # 0.8 * y + 0.2 * p
  np.testing.assert_allclose(got[0], first / first.sum(), rtol=1e-12)
  np.testing.assert_allclose(got[1], np.array([1, 9, 36]) / 46.0, rtol=1e-12)  # w = 0: p


def test_co_guessing_sharpens_the_mean_of_four_predictions():
  got = dm.co_guess([tf.constant(P), tf.constant(Q), tf.constant(Q), tf.constant(P)], 0.5)
  mean = (P + Q) / 2
  np.testing.assert_allclose(got.numpy(), mean ** 2 / (mean ** 2).sum(1, keepdims=True),
                             rtol=1e-12)


def test_mixup_keeps_the_larger_share_on_the_first_example():
  x = tf.constant([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]], tf.float64)
  t = tf.constant([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], tf.float64)
  perm = tf.constant([2, 0, 1])
  for lam in (0.3, 0.7):  # lam and 1 - lam give the same mix: lam' = 0.7
    lam = tf.constant(lam, tf.float64)
    np.testing.assert_allclose(dm.mixup(lam, x, tf.gather(x, perm)).numpy(),
                               [[0.7 + 0.6, 0.6], [0.3, 0.7], [1.4, 1.7]], rtol=1e-12)
    np.testing.assert_allclose(dm.mixup(lam, t, tf.gather(t, perm)).numpy(),
                               [[0.85, 0.15], [0.3, 0.7], [0.35, 0.65]], rtol=1e-12)


def test_losses():
  targets = np.array([[0.2, 0.8, 0.0], [0.0, 0.5, 0.5]])
  ce = dm.soft_cross_entropy(tf.constant(LOGITS), tf.constant(targets)).numpy()
  np.testing.assert_allclose(ce, -(targets * np.log(softmax(LOGITS))).sum(1), rtol=1e-12)
  mse = dm.unlabelled_loss(tf.constant(LOGITS), tf.constant(targets)).numpy()
  np.testing.assert_allclose(mse.mean(), ((softmax(LOGITS) - targets) ** 2).mean(), rtol=1e-12)


def test_uniform_prior_penalty():
  pbar = np.array([0.5, 0.3, 0.2])
  got = float(dm.uniform_prior_penalty(tf.constant(pbar)))
  assert got == pytest.approx(sum(np.log((1 / 3) / pbar)) / 3, rel=1e-12)
  assert float(dm.uniform_prior_penalty(tf.constant(np.full(4, 0.25)))) == 0.0


@pytest.mark.parametrize("epoch, expected", [(5.0, 0.0), (10.0, 0.0), (14.0, 25 * 4 / 16),
                                             (26.0, 25.0), (100.0, 25.0)])
def test_lambda_u_ramps_linearly_over_16_epochs_after_the_warm_up(epoch, expected):
  got = float(dm.lambda_u_ramp(tf.constant(epoch, tf.float64), warm_up=10, lambda_u=25.0))
  assert got == pytest.approx(expected, rel=1e-12)
