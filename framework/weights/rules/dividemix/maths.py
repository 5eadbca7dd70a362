"""The maths of DivideMix as pure functions, with the constants of the authors' CIFAR code.

Co-divide (host, NumPy): each network's per-example training losses are min-max normalised
and a two-component Gaussian mixture is fitted to them; an example's clean probability is
its posterior under the component of lower mean. The other functions run inside the
compiled step (TensorFlow, any float dtype): co-refinement of the labelled targets,
co-guessing of the unlabelled ones, sharpening, MixMatch's mixup, the two losses, the
uniform-prior regulariser and the linear ramp of the unlabelled loss's weight.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# sklearn GaussianMixture settings of the authors' `eval_train`
GMM_REG_COVAR, GMM_TOL, GMM_MAX_ITER = 5e-4, 1e-2, 10
RAMPUP_EPOCHS = 16  # length of lambda_u's linear ramp after the warm-up


def min_max_normalised(losses: np.ndarray) -> np.ndarray:
  """Losses mapped to [0, 1] by their min and max (all zeros when they are all equal)."""
  losses = np.asarray(losses, np.float64)
  span = losses.max() - losses.min()
  return (losses - losses.min()) / span if span > 0 else np.zeros_like(losses)


def clean_probability(losses: np.ndarray, seed: int = 0) -> np.ndarray:
  """P(clean) [N] of each example from one network's per-example losses [N]: the posterior
  of the lower-mean component of a two-component GMM on the min-max normalised losses.

  `seed` fixes the mixture's k-means initialisation, so a repeated pass gives the same
  division (the authors' code leaves it unseeded).
  """
  from sklearn.mixture import GaussianMixture  # pylint: disable=g-import-not-at-top (slow)
  x = min_max_normalised(losses).reshape(-1, 1)
  gmm = GaussianMixture(n_components=2, max_iter=GMM_MAX_ITER, tol=GMM_TOL,
                        reg_covar=GMM_REG_COVAR, random_state=seed).fit(x)
  return gmm.predict_proba(x)[:, int(np.argmin(gmm.means_[:, 0]))]


def sharpen(probabilities: tf.Tensor, temperature: float) -> tf.Tensor:
  """p^(1/T), renormalised over the classes (last axis)."""
  tempered = probabilities ** (1.0 / temperature)
  return tempered / tf.reduce_sum(tempered, axis=-1, keepdims=True)


def co_refine(one_hot: tf.Tensor, clean: tf.Tensor, probabilities: tf.Tensor,
              temperature: float) -> tf.Tensor:
  """Targets of labelled examples: sharpen(w y + (1 - w) p), w [B] the clean probability
  (from the other network), p [B, C] the trained network's mean over two augmentations."""
  w = clean[:, None]
  return sharpen(w * one_hot + (1.0 - w) * probabilities, temperature)


def co_guess(probabilities: list[tf.Tensor], temperature: float) -> tf.Tensor:
  """Targets of unlabelled examples: the sharpened mean of both networks' predictions [B, C]
  over two augmentations (four tensors)."""
  return sharpen(tf.add_n(probabilities) / len(probabilities), temperature)


def mixup(lam: tf.Tensor, first: tf.Tensor, second: tf.Tensor) -> tf.Tensor:
  """MixMatch's mixup of an example (or its target) with its partner: lam' first + (1 - lam')
  second, lam' = max(lam, 1 - lam), so the mix stays closer to its own (labelled or
  unlabelled) first example."""
  lam = tf.cast(tf.maximum(lam, 1.0 - lam), first.dtype)
  return lam * first + (1.0 - lam) * second


def soft_cross_entropy(logits: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
  """The labelled loss per example: -sum_c t_c log softmax(z)_c [B]."""
  return -tf.reduce_sum(targets * tf.nn.log_softmax(logits, axis=-1), axis=-1)


def unlabelled_loss(logits: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
  """The unlabelled loss per example: mean_c (softmax(z)_c - t_c)^2 [B]; its mean over the
  batch is the authors' mean over all B * C entries."""
  return tf.reduce_mean(tf.square(tf.nn.softmax(logits, axis=-1) - targets), axis=-1)


def uniform_prior_penalty(mean_probabilities: tf.Tensor) -> tf.Tensor:
  """sum_c pi_c log(pi_c / pbar_c), pi uniform: KL(pi || pbar) of the batch's mean prediction
  pbar [C], which keeps the network from giving every example the same class."""
  prior = 1.0 / tf.cast(tf.shape(mean_probabilities)[-1], mean_probabilities.dtype)
  return tf.reduce_sum(prior * tf.math.log(prior / mean_probabilities))


def lambda_u_ramp(epoch: tf.Tensor | float, warm_up: int, lambda_u: float,
                  length: int = RAMPUP_EPOCHS) -> tf.Tensor:
  """lambda_u * clip((epoch - warm_up) / length, 0, 1), `epoch` fractional (epoch + step in
  epoch / steps per epoch), as the authors ramp the unlabelled loss in."""
  epoch = tf.convert_to_tensor(epoch)
  return lambda_u * tf.clip_by_value((epoch - warm_up) / length, 0.0, 1.0)
