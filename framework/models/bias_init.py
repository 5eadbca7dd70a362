"""The classifier's initial bias from the class prior, `model.bias_init="prior"`.

A long-tailed run starts from logits that already predict the training prior, so the
first steps do not spend themselves learning it:

* softmax losses: b_c = log pi_c, pi_c = n_c / N the training class frequencies (the
  labels as observed, after the long-tail and noise steps); softmax(b) = pi.
* sigmoid losses (each class an independent binary output): b_c = -log((1 - pi) / pi)
  with pi = 1 / C for every class, i.e. b_c = -log(C - 1), as Cui et al.'s class-balanced
  code does: each output starts at sigmoid(b) = 1 / C, the chance that a given class is
  the label, instead of 1/2, so the C - 1 negative outputs of an example do not dominate
  the first steps. (C = 2 gives b = 0.)

A loss says it has sigmoid outputs by its class attribute `sigmoid_outputs`
(framework.losses.PerExampleLoss); any other loss is taken as softmax.
"""

from __future__ import annotations

import keras
import numpy as np

from framework.errors import ConfigError
from framework.models.heads import head_of
from framework.models.peers import PeerModel


def prior_bias(class_counts: np.ndarray, sigmoid: bool) -> np.ndarray:
  """float64 [C]: log pi_c (softmax) or -log(C - 1) for every class (sigmoid)."""
  counts = np.asarray(class_counts, np.float64)
  if sigmoid:
    return np.full(counts.shape, -np.log(len(counts) - 1.0))
  empty = np.flatnonzero(counts == 0)
  if empty.size:
    raise ConfigError(f"model.bias_init='prior' takes log of the class prior; class "
                      f"{int(empty[0])} has no training example; use 'zeros'")
  return np.log(counts / counts.sum())


def set_classifier_bias(model: keras.Model, bias: np.ndarray) -> None:
  """Assigns `bias` to the classifier of `model` (of each peer of a PeerModel)."""
  networks = model.networks if isinstance(model, PeerModel) else [model]
  for network in networks:
    head = head_of(network)
    if getattr(head, "bias", None) is None:
      raise ConfigError(f"model.bias_init='prior' needs a classifier bias; the layer "
                        f"{head.name!r} has none (a cosine head?); use 'zeros'")
    if tuple(head.bias.shape) != bias.shape:
      raise ConfigError(f"model.bias_init='prior': the classifier {head.name!r} has a bias "
                        f"of shape {tuple(head.bias.shape)}, the data {bias.shape[0]} classes")
    head.bias.assign(bias.astype(head.bias.dtype))
