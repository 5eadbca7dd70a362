"""The epoch pass: what it computes, one trace, one device == two replicas, resume."""

import numpy as np
import pytest
import tensorflow as tf

import framework
from framework.evaluation.evaluator import Evaluator
from framework.losses import build_loss, per_example
from framework.train import conformance, experiment
from framework.train.epoch_pass import TrainingSetPass
from framework.weights import WEIGHT, EpochPass, Rule, Tables
from framework.weights.rules.dividemix import clean_probability

PASSES = "passes"


@framework.register_rule("test_gmm_division")
def gmm_division() -> Rule:
  """Weights each example by its GMM clean probability, from epoch 1 on; counts passes."""
  def update(tables, result):
    clean = clean_probability(result.loss[:, 0], seed=0).astype(np.float32)
    return Tables({WEIGHT: clean}, {}, {PASSES: tables.shared[PASSES] + 1})
  return Rule(init=lambda n, c: Tables(shared={PASSES: tf.zeros([], tf.int64)}),
              epoch_pass=EpochPass(update, first_epoch=1))


def config(strategy="one_device"):
  return conformance.rule_config("test_gmm_division", strategy=strategy)


def run(exp, *lengths):
  for length in lengths:
    exp.trainer.train(length)
  return exp


def snapshot(exp):
  """Tables, step and parameters (by position: a second build renames the layers)."""
  parameters = enumerate(conformance.parameters(exp).values())
  return {**exp.state.numpy(), **{f"parameter {i}": p for i, p in parameters},
          "step": exp.trainer.current_step}


def test_the_pass_is_the_models_loss_and_probabilities_in_index_order():
  exp = experiment.build(conformance.synthetic_config(rule__name="co_teaching",
                                                      rule__kwargs={"steps_per_epoch": 10}))
  data = exp.data.train
  loss_fn = per_example(build_loss("cross_entropy", {}, {}))
  result = TrainingSetPass(exp.model, loss_fn, data, exp.data.transform, 32)(3)
  n, c = len(data), exp.data.num_classes
  assert result.loss.shape == (n, 2) and result.probabilities.shape == (n, 2, c)
  assert result.epoch == 3
  np.testing.assert_array_equal(result.label, data.labels)
  for peer, network in enumerate(exp.model.networks):
    logits = Evaluator(network, 64, exp.data.class_counts).logits(data).astype(np.float64)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    np.testing.assert_allclose(result.probabilities[:, peer], probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.loss[:, peer],
                               -np.log(probs[np.arange(n), data.labels]), rtol=1e-4)


@pytest.mark.slow
def test_one_trace_and_one_device_equals_two_replicas_through_a_pass():
  one = experiment.build(config())
  two = experiment.build(config("mirrored"))
  spe = one.trainer.steps_per_epoch
  for exp in (one, two):
    run(exp, spe, 3)
    assert int(exp.state.numpy()["shared/passes"]) == 1  # at step spe only (first_epoch 1)
  weight = one.state.numpy()["per_sample/weight"]
  assert weight.min() < 0.5 < weight.max()  # the division reached the table
  runs = {"one device": one, "two replicas": two}
  for check in (conformance.check_single_trace(runs), conformance.check_replicas(one, two)):
    assert check.passed, str(check)


@pytest.mark.slow
@pytest.mark.parametrize("saved_after", [0, 2])  # steps into epoch 1: before / after its pass
def test_resume_through_a_pass_is_bit_identical(tmp_path, saved_after):
  whole = experiment.build(config())
  spe = whole.trainer.steps_per_epoch
  expected = snapshot(run(whole, spe, 2, 2))
  first = experiment.build(config())
  run(first, spe, *([saved_after] if saved_after else []))
  path = first.trainer.checkpoint().save(str(tmp_path / "ckpt"))
  resumed = experiment.build(config())
  resumed.trainer.checkpoint().restore(path).assert_existing_objects_matched()
  got = snapshot(run(resumed, *([2, 2] if not saved_after else [2])))
  assert got.keys() == expected.keys()
  for key, value in expected.items():
    np.testing.assert_array_equal(got[key], value, err_msg=key)
  assert int(got["shared/passes"]) == 1  # made once, never repeated after the restore


def test_a_train_call_may_not_cross_an_epoch_where_a_pass_may_fall():
  exp = experiment.build(config())
  spe = exp.trainer.steps_per_epoch
  assert exp.trainer.pass_every_steps == spe
  with pytest.raises(ValueError, match="crosses the start of epoch 1"):
    exp.trainer.train(spe + 1)


@pytest.mark.slow
def test_the_controller_ends_loops_where_a_pass_falls():
  exp = experiment.build(config())
  spe = exp.trainer.steps_per_epoch
  controller = framework.Controller(exp.trainer, 2 * spe + 1, steps_per_loop=5 * spe)
  assert controller.run() == 2 * spe + 1  # loops of spe, spe, 1: no loop crosses a pass
  assert int(exp.state.numpy()["shared/passes"]) == 2  # epochs 1 and 2
