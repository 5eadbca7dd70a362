"""Bad parameters raise ValueError naming the parameter, the value and what is allowed;
through `build_loss` (the trainer's path) they become one-line ConfigErrors naming the
config field."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from framework import losses as L
from framework.errors import ConfigError

Z = np.zeros((2, 3), np.float32)
Y = np.array([0, 2])
OH = np.eye(3)[Y]
COUNTS = np.array([10, 5, 2])

CASES = {
    "gamma<0 sparse": (lambda: L.sparse_focal(Y, Z, gamma=-0.5), ["gamma=-0.5", "[0.0, inf]"]),
    "gamma<0 categorical": (lambda: L.categorical_focal(OH, Z, gamma=-1.0), ["gamma=-1.0"]),
    "gamma<0 binary": (lambda: L.binary_focal(OH, Z, gamma=-2.0), ["gamma=-2.0"]),
    "gamma nan": (lambda: L.sparse_focal(Y, Z, gamma=float("nan")), ["gamma=nan", "finite"]),
    "gamma<0 keras": (lambda: L.SparseFocalLoss(gamma=-0.1), ["gamma=-0.1"]),
    "binary alpha>1": (lambda: L.binary_focal(OH, Z, alpha=1.5), ["alpha=1.5", "[0.0, 1.0]"]),
    "binary alpha<0": (lambda: L.BinaryFocalLoss(alpha=-0.1), ["alpha=-0.1", "[0.0, 1.0]"]),
    "alpha length": (lambda: L.sparse_focal(Y, Z, alpha=[1.0, 2.0]),
                     ["alpha=[1.0, 2.0]", "length 2", "per class (3)"]),
    "alpha length categorical": (lambda: L.categorical_focal(OH, Z, alpha=[1.0] * 4),
                                 ["alpha", "length 4", "(3)"]),
    "alpha variable length": (lambda: L.sparse_focal(Y, Z, alpha=tf.Variable([1.0, 2.0])),
                              ["alpha", "length 2", "(3)"]),
    "alpha negative": (lambda: L.sparse_focal(Y, Z, alpha=[1.0, -1.0, 1.0]),
                       ["alpha=[1.0, -1.0, 1.0]", ">= 0"]),
    "class weights negative": (lambda: L.SparseCrossEntropyLoss(class_weights=[1, -2, 1]),
                               ["class_weights=[1.0, -2.0, 1.0]", ">= 0"]),
    "class weights inf": (lambda: L.sparse_cross_entropy(Y, Z, class_weights=[1, np.inf, 1]),
                          ["class_weights", "inf", "finite"]),
    "class weights length": (lambda: L.sparse_cross_entropy(Y, Z, class_weights=[1.0, 2.0]),
                             ["class_weights", "length 2", "(3)"]),
    "pos_weight negative": (lambda: L.weighted_cross_entropy(OH, Z, pos_weight=-1.0),
                            ["pos_weight=-1.0", ">= 0"]),
    "pos_weight length": (lambda: L.weighted_cross_entropy(OH, Z, pos_weight=[1.0, 2.0]),
                          ["pos_weight", "length 2", "(3)"]),
    "label_smoothing": (lambda: L.sparse_cross_entropy(Y, Z, label_smoothing=1.5),
                        ["label_smoothing=1.5", "[0.0, 1.0]"]),
    "zero count ldam": (lambda: L.LDAMLoss([10, 0, 2]), ["class_counts[1]=0", "> 0"]),
    "zero count logit adjusted": (lambda: L.logit_adjusted(Y, Z, class_counts=[0, 1, 2]),
                                  ["class_counts[0]=0"]),
    "zero count balanced": (lambda: L.BalancedSoftmaxLoss([3, 1, 0]), ["class_counts[2]=0"]),
    "counts length": (lambda: L.ldam(Y, Z, class_counts=[1, 2, 3, 4]),
                      ["class_counts has 4 entries", "3 classes"]),
    "max_margin": (lambda: L.ldam_margins(COUNTS, max_margin=0.0), ["max_margin=0.0", "(0.0"]),
    "scale": (lambda: L.LDAMLoss(COUNTS, scale=-30.0), ["scale=-30.0", "(0.0, inf]"]),
    "tau": (lambda: L.post_hoc_adjust(Z, COUNTS, tau=-1.0), ["tau=-1.0", "[0.0, inf]"]),
    "label too big": (lambda: L.sparse_cross_entropy([0, 3], Z),
                      ["labels contain 3", "[0, 3)"]),
    "label negative": (lambda: L.sparse_focal([-1, 0], Z), ["labels contain -1", "[0, 3)"]),
    "label ldam": (lambda: L.ldam([0, 7], Z, class_counts=COUNTS), ["labels contain 7"]),
    "label shape": (lambda: L.sparse_cross_entropy([0, 1, 2], Z),
                    ["labels shape (3,)", "(2, 3)"]),
    "target shape": (lambda: L.categorical_cross_entropy(np.eye(4)[:2], Z),
                     ["y_true shape (2, 4)", "y_pred shape (2, 3)"]),
    "binary target shape": (lambda: L.binary_focal(np.ones((2, 2)), Z), ["y_true shape (2, 2)"]),
    "one class softmax": (lambda: L.sparse_cross_entropy([0, 0], np.zeros((2, 1))),
                          [">= 2 classes"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_parameters_raise_value_error(name):
  call, pieces = CASES[name]
  with pytest.raises(ValueError) as info:
    call()
  message = str(info.value)
  assert "\n" not in message
  for piece in pieces:
    assert piece in message, message


CONTEXT = {"class_counts": COUNTS, "num_classes": 3}

REGISTRY_CASES = {
    "focal gamma": ("focal", {"gamma": -1.0}, ["loss (focal): gamma=-1.0"]),
    "focal alpha length": ("focal", {"alpha": [1.0, 2.0]}, ["loss (focal): alpha", "(3)"]),
    "binary alpha": ("binary_focal", {"alpha": 2.0}, ["loss (binary_focal): alpha=2.0"]),
    "pos_weight": ("weighted_cross_entropy", {"pos_weight": [1.0] * 4},
                   ["pos_weight", "length 4"]),
    "smoothing": ("cross_entropy", {"label_smoothing": -0.1}, ["label_smoothing=-0.1"]),
    "tau": ("logit_adjusted", {"tau": -2.0}, ["loss (logit_adjusted): tau=-2.0"]),
    "unknown kwarg": ("ldam", {"margin": 0.5},
                      ["loss.kwargs.margin", "allowed: max_margin, scale, class_weights"]),
    "trainer's argument": ("focal", {"from_logits": False},
                           ["loss.kwargs.from_logits is set by the trainer"]),
    "unknown name": ("focall", {}, ["loss.name='focall'", "known:", "balanced_softmax"]),
}


@pytest.mark.parametrize("name", sorted(REGISTRY_CASES))
def test_registry_errors_are_config_errors(name):
  loss, kwargs, pieces = REGISTRY_CASES[name]
  with pytest.raises(ConfigError) as info:
    L.build_loss(loss, kwargs, CONTEXT)
  assert "\n" not in str(info.value)
  for piece in pieces:
    assert piece in str(info.value), str(info.value)


def test_registry_zero_count_and_mismatched_counts():
  for name in ("ldam", "logit_adjusted", "balanced_softmax"):
    with pytest.raises(ConfigError, match=rf"loss \({name}\): class_counts\[1\]=0"):
      L.build_loss(name, {}, {"class_counts": np.array([4, 0, 1]), "num_classes": 3})
    with pytest.raises(ConfigError, match="class_counts has 2 entries but y_pred has 3"):
      L.build_loss(name, {}, {"class_counts": np.array([4, 1]), "num_classes": 3})


def test_trainer_view_of_a_sigmoid_loss_checks_labels():
  loss = L.per_example(L.build_loss("weighted_cross_entropy", {"pos_weight": 2.0}, CONTEXT))
  with pytest.raises(ValueError, match=r"labels contain 3, outside the allowed range \[0, 3\)"):
    loss(np.array([0, 3]), Z)
