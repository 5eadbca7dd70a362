"""TorchSGD against a float64 NumPy re-derivation of torch.optim.SGD's documented algorithm.

The variables are float64 (Keras permits it), so the only rounding the reference must copy
is the learning rate's: Keras schedules hand it over as float32.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from framework.train.distribute import make_strategy
from framework.train.torch_sgd import TorchSGD
from tests.helpers import TWO_CPUS, synthetic_config

RNG = np.random.default_rng(0)
STEPS = 200
BOUNDARIES, RATES = [69, 139], [0.1, 0.01, 0.001]  # drops before steps 70 and 140 (0-based)
W0 = RNG.normal(size=(3, 2))
GRADS = RNG.normal(size=(STEPS, 3, 2))


def schedule():
  return keras.optimizers.schedules.PiecewiseConstantDecay(BOUNDARIES, RATES)


def rates(steps=STEPS):
  """The schedule's rate at each 0-based step (RATES[k] after the k-th boundary), as float32."""
  return [float(np.float32(RATES[sum(t > b for b in BOUNDARIES)])) for t in range(steps)]


def torch_sgd_reference(w, grads, lrs, momentum=0.0, nesterov=False, weight_decay=0.0):
  """torch.optim.SGD's algorithm box with dampening 0: the weights and the buffer after."""
  buffer = None
  for g, lr in zip(grads, lrs):
    if weight_decay:
      g = g + weight_decay * w
    if momentum:
      buffer = g if buffer is None else momentum * buffer + g
      g = g + momentum * buffer if nesterov else buffer
    w = w - lr * g
  return w, buffer


def variable(value=W0):
  return keras.Variable(np.array(value), dtype="float64")


def apply_all(optimizer, var, grads):
  for g in grads:
    optimizer.apply([tf.constant(g)], [var])
  return var.numpy()


CASES = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "nesterov": {"momentum": 0.9, "nesterov": True},
    "weight_decay": {"weight_decay": 0.05},
    "momentum_weight_decay": {"momentum": 0.9, "weight_decay": 0.05},
    "momentum_nesterov_weight_decay": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.05},
}


def torch_sgd(learning_rate, momentum=0.0, nesterov=False, weight_decay=0.0):
  return TorchSGD(learning_rate, momentum=momentum, nesterov=nesterov,
                  coupled_weight_decay=weight_decay)


@pytest.mark.parametrize("case", CASES)
def test_matches_the_documented_algorithm_across_two_rate_drops(case):
  optimizer, var = torch_sgd(schedule(), **CASES[case]), variable()
  got = apply_all(optimizer, var, GRADS)
  want, buffer = torch_sgd_reference(W0, GRADS, rates(), **CASES[case])
  np.testing.assert_allclose(got, want, rtol=1e-6)
  assert len(optimizer.buffers) == (1 if buffer is not None else 0)
  if buffer is not None:
    np.testing.assert_allclose(optimizer.buffers[0].numpy(), buffer, rtol=1e-6)


def test_the_first_step_starts_the_buffer_at_the_decayed_gradient():
  optimizer, var = torch_sgd(0.5, momentum=0.9, nesterov=True, weight_decay=0.25), variable()
  apply_all(optimizer, var, GRADS[:1])
  decayed = GRADS[0] + 0.25 * W0
  np.testing.assert_allclose(optimizer.buffers[0].numpy(), decayed, rtol=1e-15)
  np.testing.assert_allclose(var.numpy(), W0 - 0.5 * (decayed + 0.9 * decayed), rtol=1e-15)


@pytest.mark.parametrize("nesterov", [False, True])
def test_agrees_with_keras_sgd_at_a_constant_rate(nesterov):
  """Momentum 0.875 is exact in float32, to which Keras's SGD rounds its momentum."""
  ours = apply_all(torch_sgd(0.1, momentum=0.875, nesterov=nesterov), variable(), GRADS)
  keras_sgd = keras.optimizers.SGD(0.1, momentum=0.875, nesterov=nesterov)
  np.testing.assert_allclose(ours, apply_all(keras_sgd, variable(), GRADS), rtol=1e-9)


def test_differs_from_keras_sgd_after_a_rate_drop():
  """At the drop PyTorch's step shrinks tenfold at once; Keras's velocity still carries
  the old rate, so its step after the drop is several times longer."""
  drop = BOUNDARIES[0] + 1  # the first step at the lower rate
  steps = {}
  for name, optimizer in (("torch", torch_sgd(schedule(), momentum=0.9)),
                          ("keras", keras.optimizers.SGD(schedule(), momentum=0.9))):
    var = variable()
    before = apply_all(optimizer, var, GRADS[:drop])
    after = apply_all(optimizer, var, GRADS[drop:drop + 1])
    steps[name] = np.linalg.norm(after - before)
  assert steps["keras"] > 5 * steps["torch"]


def test_a_checkpoint_restores_the_buffer_and_the_next_steps_match(tmp_path):
  args = {"momentum": 0.9, "nesterov": True, "weight_decay": 0.05}
  whole = apply_all(torch_sgd(schedule(), **args), variable(), GRADS)
  optimizer, var = torch_sgd(schedule(), **args), variable()
  apply_all(optimizer, var, GRADS[:100])
  path = tf.train.Checkpoint(optimizer=optimizer, var=var).write(str(tmp_path / "ckpt"))
  restored, restored_var = torch_sgd(schedule(), **args), variable(np.zeros((3, 2)))
  restored.build([restored_var])
  tf.train.Checkpoint(optimizer=restored, var=restored_var).read(path).assert_consumed()
  assert int(restored.iterations) == 100
  np.testing.assert_array_equal(restored.buffers[0].numpy(), optimizer.buffers[0].numpy())
  np.testing.assert_array_equal(apply_all(restored, restored_var, GRADS[100:]), whole)


def test_a_compiled_step_traces_once():
  args = {"momentum": 0.9, "nesterov": True, "weight_decay": 0.05}
  optimizer, var = torch_sgd(schedule(), **args), variable()
  optimizer.build([var])

  @tf.function
  def step(gradient):
    optimizer.apply([gradient], [var])

  for g in GRADS:
    step(tf.constant(g))
  assert step.experimental_get_tracing_count() == 1
  want, _ = torch_sgd_reference(W0, GRADS, rates(), **args)
  np.testing.assert_allclose(var.numpy(), want, rtol=1e-6)


def _train_linear_model(strategy, steps=30):
  """`steps` compiled steps of a bias-free linear model on one fixed batch of 8 (squared
  error averaged over the global batch); the rate drops at steps 10 and 20."""
  rng = np.random.default_rng(1)
  features, targets = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
  batch = next(iter(strategy.experimental_distribute_dataset(  # 4 + 4 on two replicas
      tf.data.Dataset.from_tensors((features, targets)))))
  rate = keras.optimizers.schedules.PiecewiseConstantDecay([9, 19], [0.1, 0.01, 0.001])
  with strategy.scope():
    weights = variable()
    optimizer = torch_sgd(rate, momentum=0.9, nesterov=True, weight_decay=0.05)
    optimizer.build([weights])

  def replica_step(x, y):
    with tf.GradientTape() as tape:
      squared = tf.reduce_sum(tf.square(x @ weights - y), axis=1)
      loss = tf.nn.compute_average_loss(squared, global_batch_size=8)
    optimizer.apply(tape.gradient(loss, [weights]), [weights])

  @tf.function
  def train():
    for _ in tf.range(steps):
      strategy.run(replica_step, args=batch)

  train()
  return weights.numpy()


def test_two_replicas_give_the_one_device_result():
  two = make_strategy(synthetic_config("mirrored").strategy)
  assert two.num_replicas_in_sync == len(TWO_CPUS)
  one = _train_linear_model(make_strategy(synthetic_config().strategy))
  assert not np.allclose(one, W0)
  np.testing.assert_allclose(_train_linear_model(two), one, rtol=1e-12)


@pytest.mark.parametrize("case", ["plain", "momentum", "momentum_nesterov_weight_decay"])
def test_sparse_gradients_act_as_their_dense_sum(case):
  rows, values = [2, 0, 2], GRADS[0]  # row 2 twice, row 1 never
  dense = np.zeros((3, 2))
  np.add.at(dense, rows, values)
  sparse = tf.IndexedSlices(tf.constant(values), tf.constant(rows), tf.constant([3, 2]))
  optimizer, var = torch_sgd(0.1, **CASES[case]), variable()
  for _ in range(3):
    optimizer.apply([sparse], [var])
  want, _ = torch_sgd_reference(W0, [dense] * 3, [float(np.float32(0.1))] * 3, **CASES[case])
  np.testing.assert_allclose(var.numpy(), want, rtol=1e-12)


def test_config_and_keras_serialisation_round_trip():
  optimizer = TorchSGD(schedule(), momentum=0.9, nesterov=True, coupled_weight_decay=5e-4,
                       clipnorm=1.0, name="sgd")
  serialised = json.loads(json.dumps(keras.saving.serialize_keras_object(optimizer)))
  assert serialised["registered_name"] == "framework>TorchSGD"
  for copy in (keras.saving.deserialize_keras_object(serialised),
               TorchSGD.from_config(optimizer.get_config())):
    assert type(copy) is TorchSGD
    assert copy.get_config() == optimizer.get_config()
  assert optimizer.get_config()["coupled_weight_decay"] == 5e-4
  assert optimizer.get_config()["nesterov"] is True


@pytest.mark.parametrize("kwargs, message", [
    ({"momentum": 1.0}, r"momentum=1.0 must be in \[0, 1\)"),
    ({"momentum": -0.1}, r"momentum=-0.1"),
    ({"nesterov": True}, "nesterov=True needs a momentum > 0"),
    ({"coupled_weight_decay": -1e-4}, "coupled_weight_decay=-0.0001 must be >= 0"),
])
def test_bad_arguments_name_the_argument(kwargs, message):
  with pytest.raises(ValueError, match=message):
    TorchSGD(0.1, **kwargs)
