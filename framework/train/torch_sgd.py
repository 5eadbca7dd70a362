"""SGD with PyTorch's semantics (torch.optim.SGD) as a Keras 3 optimizer.

The recipes the project ports come from PyTorch, and Keras's SGD differs where it matters:
Keras keeps the learning rate inside the velocity (v <- mu v - lr g; w <- w + v), PyTorch
applies it outside the buffer. Following PyTorch's documented algorithm, with dampening 0:

  g' = g + lambda w                  (coupled weight decay: an L2 term on the gradient)
  b  = mu b + g'                     (b = g' at the first step: the buffer starts at zero)
  w  = w - lr b                      or, with nesterov, w = w - lr (g' + mu b)

At a constant rate the two agree; when a schedule drops the rate PyTorch's step shrinks at
once, Keras's only over ~1 / (1 - mu) steps, so a ported recipe trains differently.
"""

from __future__ import annotations

import keras
from keras import ops
from keras.optimizers.schedules import LearningRateSchedule


@keras.saving.register_keras_serializable(package="framework")
class TorchSGD(keras.optimizers.Optimizer):
  """torch.optim.SGD(lr, momentum, weight_decay, nesterov), dampening fixed at 0.

  `coupled_weight_decay` is PyTorch's `weight_decay`: lambda * w added to the gradient, so
  it also flows through the momentum buffer. It has its own name because the Keras base
  optimizer's `weight_decay` (still accepted among `base_kwargs`, like clipnorm) is the
  decoupled kind, which shrinks w by lr * weight_decay * w outside the buffer.
  `momentum=0` is plain SGD and keeps no buffer. Dampening is not offered: the recipes
  the project ports leave it at PyTorch's default, 0. Sparse gradients (IndexedSlices)
  act as their dense sum: without momentum or weight decay only their rows move; else
  Keras's ops make them dense where the buffer or the decay joins them, as in PyTorch,
  whose buffer and decay touch every row at every step.
  """

  def __init__(self, learning_rate: float | LearningRateSchedule = 0.01,
               momentum: float = 0.0, nesterov: bool = False,
               coupled_weight_decay: float = 0.0, name: str | None = None, **base_kwargs):
    super().__init__(learning_rate=learning_rate, name=name, **base_kwargs)
    if not 0.0 <= momentum < 1.0:
      raise ValueError(f"momentum={momentum} must be in [0, 1)")
    if nesterov and not momentum:
      raise ValueError(f"nesterov=True needs a momentum > 0, got momentum={momentum}")
    if not coupled_weight_decay >= 0.0:
      raise ValueError(f"coupled_weight_decay={coupled_weight_decay} must be >= 0")
    self.momentum = float(momentum)
    self.nesterov = bool(nesterov)
    self.coupled_weight_decay = float(coupled_weight_decay)

  def build(self, variables):
    """One momentum buffer per variable, zero-initialised (none when momentum is 0)."""
    if self.built:
      return
    super().build(variables)
    self.buffers = (self.add_optimizer_variables(variables, "momentum_buffer")
                    if self.momentum else [])

  def update_step(self, gradient, variable, learning_rate):
    """One step of the algorithm in the module docstring on `variable`."""
    dtype = variable.dtype  # constants made in it directly: a float32 detour rounds 0.9
    gradient = ops.cast(gradient, dtype)
    if self.coupled_weight_decay:
      decay = ops.convert_to_tensor(self.coupled_weight_decay, dtype=dtype)
      gradient = ops.add(gradient, ops.multiply(decay, variable))
    if self.momentum:
      momentum = ops.convert_to_tensor(self.momentum, dtype=dtype)
      buffer = self.buffers[self._get_variable_index(variable)]
      new_buffer = ops.add(ops.multiply(momentum, buffer), gradient)
      self.assign(buffer, new_buffer)
      gradient = (ops.add(gradient, ops.multiply(momentum, new_buffer)) if self.nesterov
                  else new_buffer)
    self.assign_sub(variable, ops.multiply(ops.cast(learning_rate, dtype), gradient))

  def get_config(self) -> dict:
    config = super().get_config()
    config.update({"momentum": self.momentum, "nesterov": self.nesterov,
                   "coupled_weight_decay": self.coupled_weight_decay})
    return config
