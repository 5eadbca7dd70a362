"""The loss contract: one pure per-example function and one `keras.losses.Loss` class per loss.

A loss is declared once, in its own module: the function (the maths, usable on its own)
and a `PerExampleLoss` subclass with Keras's constructor signature and defaults
(`from_logits=False`, `reduction="sum_over_batch_size"`, `axis=-1`, ...), whose
`__init__` checks its arguments and passes them on. `@register_loss("name")` makes the
class serialisable (`framework>ClassName`) and choosable as `config.loss.name`:

    @register_loss("my_loss")
    class MyLoss(PerExampleLoss):
      fn = staticmethod(my_loss)     # (y_true, y_pred, **params) -> [B]
      sparse_labels = True           # y_true are class ids (False: one-hot targets)

      def __init__(self, q=0.7, from_logits=False, reduction="sum_over_batch_size",
                   name="my_loss", dtype=None):
        check_my_loss(q)
        super().__init__(q=q, from_logits=from_logits, reduction=reduction, name=name,
                         dtype=dtype)

The trainer builds the same class with `from_logits=True, reduction=None` (`build_loss`),
and reads any Keras loss per example through `per_example`.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, ClassVar, Mapping

import keras
import numpy as np
import tensorflow as tf

from framework.errors import ConfigError, one_line
from framework.losses import _common
from framework.config.registry import Registry

LOSSES: Registry[keras.losses.Loss] = Registry("loss")
# Set by the trainer, never by a config: it feeds logits and reduces the losses itself.
TRAINER_ARGS = {"from_logits": True, "reduction": None}


def register_loss(name: str):
  """Class decorator: Keras-serialisable, and registered as `config.loss.name = name`."""
  def decorator(cls):
    cls = keras.saving.register_keras_serializable(package="framework")(cls)
    return LOSSES.register(name)(cls)
  return decorator


def _plain(value: Any) -> Any:
  """A JSON-friendly copy of a parameter (a learnable alpha is saved by value)."""
  if isinstance(value, (tf.Variable, tf.Tensor)):
    value = value.numpy()
  if isinstance(value, np.ndarray):
    return value.tolist()
  if isinstance(value, np.generic):
    return value.item()
  return value


def as_vector(value: Any) -> Any:
  """Lists and tuples as float64 arrays (a per-class parameter); anything else as is."""
  return np.asarray(value, np.float64) if isinstance(value, (list, tuple)) else value


class PerExampleLoss(keras.losses.Loss):
  """A loss whose `call` is the pure per-example function `fn(y_true, y_pred, **params)`.

  `axis` names the class axis of y_pred (and of dense targets); it is moved last before
  `fn` is called. `get_config` returns every constructor argument.
  """

  fn: ClassVar[Callable[..., tf.Tensor]]
  sparse_labels: ClassVar[bool] = True  # y_true: class ids (True) or one-hot targets
  sigmoid_outputs: ClassVar[bool] = False  # each class an independent sigmoid (else softmax)
  # the constructor argument by which the loss multiplies the model's outputs before its
  # softmax (LDAM's `scale` on cosine logits); see `output_scale`
  scale_param: ClassVar[str | None] = None

  def __init__(self, *, reduction: str | None, name: str, dtype: Any, axis: int = -1,
               **params: Any):
    super().__init__(name=name, reduction=reduction, dtype=dtype)
    self.axis = axis
    self.params = params

  def call(self, y_true, y_pred):
    if self.axis != -1:
      y_pred = tf.experimental.numpy.moveaxis(tf.convert_to_tensor(y_pred), self.axis, -1)
      if not self.sparse_labels:
        y_true = tf.experimental.numpy.moveaxis(tf.convert_to_tensor(y_true), self.axis, -1)
    return type(self).fn(y_true, y_pred, **self.params)

  def get_config(self) -> dict[str, Any]:
    return {**super().get_config(), "dtype": self._dtype_policy.name, "axis": self.axis,
            **{k: _plain(v) for k, v in self.params.items()}}


def build_loss(name: str, kwargs: Mapping[str, Any] | None,
               context: Mapping[str, Any]) -> keras.losses.Loss:
  """The registered loss `name` as the trainer uses it (logits in, per-example out).

  With `num_classes` in the context the loss is also called once on a tiny batch, so a
  parameter of the wrong size (alpha, pos_weight, class_counts) fails here, as a
  one-line ConfigError, not in the first training step.
  """
  for key in TRAINER_ARGS:
    if key in (kwargs or {}):
      raise ConfigError(f"loss.kwargs.{key} is set by the trainer (it passes logits and "
                        "reduces per-example losses itself); remove it")
  loss = LOSSES.build(name, kwargs, field="loss", context={**context, **TRAINER_ARGS})
  num_classes = context.get("num_classes")
  if num_classes:
    try:
      per_example(loss)(tf.range(num_classes) % num_classes, tf.zeros([num_classes] * 2))
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as e:
      raise ConfigError(f"loss ({name}): {one_line(e)}") from None
  return loss


def output_scale(loss_config: Mapping[str, Any]) -> float:
  """What the configured loss multiplies the model's outputs by before its softmax (LDAM's
  `scale`; 1 for every other loss). Evaluation and the exported model apply it, so the
  probabilities (calibration, label issues, `predict`) are those the loss trained, not the
  softmax of bare cosines; predictions are unchanged."""
  loss, kwargs = loss_config["name"], dict(loss_config.get("kwargs") or {})
  if not isinstance(loss, str):  # a keras.losses.Loss given to `framework.fit`
    param = getattr(loss, "scale_param", None)
    return float(loss.params[param]) if param else 1.0
  param = getattr(LOSSES.get(loss), "scale_param", None) if loss in LOSSES else None
  return float({**LOSSES.parameters(loss), **kwargs}[param]) if param else 1.0


# Keras losses without from_logits that still fit: margin losses on scores, and the wrapper
# of a user's own function.
_KERAS_ACCEPTED = ("Hinge", "SquaredHinge", "CategoricalHinge", "LossFunctionWrapper")


def per_example(loss: keras.losses.Loss) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
  """`(labels int [B], logits [B, C]) -> float32 [B]` for any Keras loss taking logits.

  The framework's losses say whether they take class ids (`sparse_labels`); for other
  Keras losses the `Sparse...` classes take ids and the rest one-hot targets. A loss with a
  reduction is used through a copy without one; one built with `from_logits=False` is
  refused, since the trainer passes logits, and so is a Keras loss that does not classify
  (MeanSquaredError, Huber, KLDivergence, ...).
  """
  name = type(loss).__name__
  if loss.get_config().get("from_logits") is False:
    raise ValueError(f"loss={name}(from_logits=False): the trainer passes logits; build it "
                     "with from_logits=True")
  keras_own = type(loss).__module__.startswith("keras.")
  if keras_own and "from_logits" not in loss.get_config() and name not in _KERAS_ACCEPTED:
    raise ValueError(f"loss={name}() is not a classification loss on logits; allowed: a "
                     f"registered name ({', '.join(LOSSES.names()[:4])}, ...), a Keras "
                     "cross-entropy with from_logits=True, or a keras.losses.Loss of your own "
                     "taking (labels, logits)")
  if loss.reduction not in (None, "none"):
    loss = copy.copy(loss)  # shares its parameters (a learnable alpha stays live)
    loss.reduction = None
  sparse = getattr(loss, "sparse_labels", type(loss).__name__.startswith("Sparse"))

  def fn(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    if not sparse:
      logits = tf.convert_to_tensor(logits)
      labels = tf.one_hot(_common.sparse_labels(labels, logits), tf.shape(logits)[-1],
                          dtype=logits.dtype)
    return tf.cast(loss(labels, logits), tf.float32)
  return fn
