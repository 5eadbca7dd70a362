"""DivideMix (Li et al., ICLR 2020) as a rule of two peers: co-divide, then MixMatch.

Warm-up (the first `warm_up` epochs): each peer trains on the cross entropy of the given
labels. From then on, at the start of every epoch an epoch pass fits a two-component GMM
to each peer's per-example losses (see `maths.clean_probability`): `clean` [N, 2] holds
each peer's clean probability of every example, `weight` their mean (the run's
label-noise `Signal`). Each step, each peer k trains on the division made by the OTHER
peer (co-divide): an example with clean probability w > `p_threshold` is labelled, its
target co-refined, sharpen(w y + (1 - w) p_k); the others are unlabelled, their target
co-guessed, the sharpened mean of both peers' predictions. Examples and targets are mixed
with a random partner of the global batch (lam ~ Beta(alpha, alpha), lam' = max(lam,
1 - lam)); peer k's loss is the soft cross entropy over the labelled rows + lambda_u(t)
times the squared error of probabilities over the unlabelled rows + the uniform-prior
regulariser on the mixed batch's mean prediction, lambda_u ramped linearly over 16
epochs after the warm-up.

How the framework's single stream maps the authors' two loaders: the authors draw a
labelled batch (64) and an unlabelled batch (64) from the two sets, each with two
augmentations, and train one network then the other. Here the same global batch is split
by the other peer's clean probability (so the labelled share varies from batch to batch,
each mean taken over its own part), each example has the stream's one augmentation (the
predictions behind the targets are taken on it, where the authors average two), both
peers train in the same step from the same batch, and an epoch of steps covers the
training set once (the authors' epoch is one pass over the labelled set). The predictions
behind the targets come from a forward pass in training mode without gradient, as in the
authors' code for the network being trained (theirs takes the other network at
inference); in the warm-up the mixed pass still runs (its loss unused), so batch-norm
statistics also see mixed inputs. The maths of each term is the authors'.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from framework.weights.rule import WEIGHT, EpochPass, Rule, Signal, register_rule
from framework.weights.rules.dividemix import maths
from framework.weights.tables import Objective, Tables

CLEAN = "clean"  # per-sample [N, 2]: each peer's clean probability of each example
_SUM = tf.distribute.ReduceOp.SUM


def _check(name: str, value, ok: bool, allowed: str) -> None:
  if not ok:
    raise ValueError(f"{name}={value!r} must be {allowed}")


def _mix_partners(step: tf.Tensor, peer: int, alpha: float, size: tf.Tensor):
  """(lam, permutation of the global batch) of a peer's step: stateless, so one device,
  several replicas and a resumed run draw the same."""
  seeds = [tf.stack([step, tf.constant(peer * 3 + i, tf.int64)]) for i in range(3)]
  x = tf.random.stateless_gamma([], seeds[0], alpha)
  y = tf.random.stateless_gamma([], seeds[1], alpha)
  permutation = tf.random.experimental.stateless_shuffle(tf.range(size), seeds[2])
  return x / (x + y), permutation


def _mixmatch_loss(ctx, logits, targets, labelled, weight_u):
  """(per-example terms [b], penalty) of one peer on its mixed rows: its loss is
  sum(terms) / B + penalty = mean_L soft CE + weight_u mean_U squared error + the prior term,
  the means over the global batch's labelled (L) and unlabelled (U) rows."""
  is_labelled = tf.cast(labelled, tf.float32)
  counts = ctx.all_reduce(_SUM, tf.stack([tf.reduce_sum(is_labelled),
                                          tf.reduce_sum(1.0 - is_labelled)]))
  size = tf.reduce_sum(counts)
  labelled_part = is_labelled * tf.math.divide_no_nan(
      maths.soft_cross_entropy(logits, targets), counts[0])
  unlabelled_part = (1.0 - is_labelled) * tf.math.divide_no_nan(
      maths.unlabelled_loss(logits, targets), counts[1])
  mean_prediction = ctx.all_reduce(_SUM, tf.reduce_sum(tf.nn.softmax(logits), 0)) / size
  return (size * (labelled_part + weight_u * unlabelled_part),
          maths.uniform_prior_penalty(mean_prediction))


@register_rule("dividemix")
def dividemix(steps_per_epoch: int, warm_up: int = 10, lambda_u: float = 25.0,
              p_threshold: float = 0.5, temperature: float = 0.5, alpha: float = 4.0) -> Rule:
  """DivideMix of two peers; see the module docstring. Defaults: the authors' CIFAR-10 at
  50% symmetric noise (lambda_u 0 at 20%, 25 at 50%, 150 at 80%; warm_up 30 on CIFAR-100)."""
  _check("warm_up", warm_up, isinstance(warm_up, int) and warm_up >= 1, "an integer >= 1")
  _check("lambda_u", lambda_u, lambda_u >= 0, ">= 0")
  _check("p_threshold", p_threshold, 0 < p_threshold < 1, "in (0, 1)")
  _check("temperature", temperature, temperature > 0, "> 0")
  _check("alpha", alpha, alpha > 0, "> 0")

  def init(num_samples, num_classes):
    return Tables(per_sample={CLEAN: tf.ones([num_samples, 2])})

  def divide(tables, result):
    clean = np.stack([maths.clean_probability(result.loss[:, k], seed=result.epoch)
                      for k in (0, 1)], axis=1).astype(np.float32)
    return Tables({CLEAN: clean, WEIGHT: clean.mean(axis=1)})

  def objective(view, batch, model, features, step):
    ctx = tf.distribute.get_replica_context()
    first = [tf.cast(z, tf.float32) for z in model(features, training=True)]
    probabilities = [tf.stop_gradient(tf.nn.softmax(z)) for z in first]
    one_hot = tf.one_hot(batch.label, tf.shape(first[0])[1])
    guessed = maths.co_guess(probabilities, temperature)
    everyone = ctx.all_gather(features, axis=0)
    size, local = tf.shape(everyone)[0], tf.shape(features)[0]
    mine = ctx.replica_id_in_sync_group * local + tf.range(local)
    epoch = tf.cast(step, tf.float32) / steps_per_epoch
    weight_u = maths.lambda_u_ramp(epoch, warm_up, lambda_u)
    terms, penalty, peer_losses = [], 0.0, []
    warming = epoch < warm_up
    for k, network in enumerate(model.networks):
      clean = view.per_sample[CLEAN][:, 1 - k]  # co-divide: the other peer's division
      labelled = clean > p_threshold
      targets = tf.where(labelled[:, None],
                         maths.co_refine(one_hot, clean, probabilities[k], temperature), guessed)
      lam, permutation = _mix_partners(step, k, alpha, size)
      partner = tf.gather(permutation, mine)
      all_targets = ctx.all_gather(targets, axis=0)
      logits = tf.cast(network(maths.mixup(lam, features, tf.gather(everyone, partner)),
                               training=True), tf.float32)
      mixed_targets = maths.mixup(lam, targets, tf.gather(all_targets, partner))
      semi, prior_penalty = _mixmatch_loss(ctx, logits, mixed_targets, labelled, weight_u)
      cross_entropy = maths.soft_cross_entropy(first[k], one_hot)
      terms.append(tf.where(warming, cross_entropy, semi))
      penalty += tf.where(warming, 0.0, prior_penalty)
      peer_losses.append(cross_entropy)
    return Objective(tf.add_n(terms), penalty, tf.stack(peer_losses, axis=1), first[0])

  return Rule(init=init, peers=2, objective=objective,
              epoch_pass=EpochPass(divide, first_epoch=warm_up),
              signal=Signal(averaged=False))
