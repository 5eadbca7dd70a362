"""Mixed training examples: mixup, CutMix and Remix, stateless like the augmentations.

`data.mix.name`, a name registered in `MIXERS`:
  none    no mixing;
  mixup   x = lam x_i + (1 - lam) x_j, lam ~ Beta(alpha, alpha) (Zhang et al. 2018);
  cutmix  x_i with a box of area about 1 - lam pasted from x_j; lam is then set to the
          box's exact share of the image (Yun et al. 2019);
  remix   mixup's (or with `cutmix=True` CutMix's) images, with the label pushed to the
          minority class: label weight 0 when n_i / n_j >= kappa and lam < tau, 1 when
          n_i / n_j <= 1 / kappa and 1 - lam < tau, else lam (Chou et al. 2020).

Every example i of the global batch is mixed with the example at `partner[i]`, a stateless
permutation of the global batch's positions; lam and the box are drawn per position, or
once for the whole batch with `per_batch=True` (as the authors' code draws them). All
are keyed by (seed, step) over the global batch, like the augmentation uniforms, so one
device and several replicas mix the same pairs, and a resumed run mixes as the
uninterrupted one would. Each replica's pipeline reads its partners' rows itself (with the
partners' own augmentation), so no features cross replicas.

The mixed example carries its `label` y_i, `partner_label` y_j and `mix`, the weight of
y_i in its target. The trainer's loss is mix * loss(z, y_i) + (1 - mix) * loss(z, y_j),
which for cross-entropy is exactly the cross-entropy of the soft target (the form the
authors' code uses for every criterion), and its weight is mix * w_i + (1 - mix) * w_j
for the class weight, importance and the rule's per-sample factor alike.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from framework.config.registry import Registry

MIXERS: Registry["Mixer | None"] = Registry("mixing")
_TAG = 0x313C  # keys the mixing draws apart from the augmentation uniforms


class MixPlan(NamedTuple):
  """The mixing of one step's global batch: per position, the partner's position, lam and
  two uniforms for the box centre."""
  partner: tf.Tensor  # [B] int64
  lam: tf.Tensor      # [B] float32
  centre: tf.Tensor   # [B, 2] float32 in [0, 1)


@dataclasses.dataclass(frozen=True)
class Mixer:
  """How examples are paired and mixed (see the module docstring)."""
  alpha: float = 1.0
  boxes: bool = False        # CutMix: paste a box rather than blend
  kappa: float = 0.0         # Remix's count ratio; 0: labels mixed as the inputs are
  tau: float = 0.5           # Remix's threshold on lam
  class_counts: tuple[float, ...] = ()
  per_batch: bool = False    # one lam and one box centre for the whole global batch

  def plan(self, seed: int, step: tf.Tensor, global_batch: int) -> MixPlan:
    """The step's pairs, lam and box centres over the global batch (stateless)."""
    key = tf.random.experimental.stateless_fold_in(
        tf.constant([seed, _TAG], tf.int64), tf.cast(step, tf.int64))
    keys = tf.random.experimental.stateless_split(key, 4)
    partner = tf.random.experimental.stateless_shuffle(
        tf.range(global_batch, dtype=tf.int64), seed=keys[0])
    a = tf.random.stateless_gamma([global_batch], keys[1], alpha=self.alpha)
    b = tf.random.stateless_gamma([global_batch], keys[2], alpha=self.alpha)
    lam = a / (a + b)
    centre = tf.random.stateless_uniform([global_batch, 2], keys[3])
    if self.per_batch:
      lam, centre = tf.fill([global_batch], lam[0]), tf.tile(centre[:1], [global_batch, 1])
    return MixPlan(partner, tf.cast(lam, tf.float32), centre)

  def mix(self, x: tf.Tensor, partner_x: tf.Tensor, lam: tf.Tensor,
          centre: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(mixed inputs [b, ...], the share of x_i in each) for a batch and its partners."""
    if not self.boxes:
      blend = tf.reshape(lam, [-1] + [1] * (len(x.shape) - 1))
      return blend * x + (1.0 - blend) * partner_x, lam
    inside, area = cutmix_box(tf.shape(x)[1], tf.shape(x)[2], lam, centre)
    return tf.where(inside[..., None], partner_x, x), 1.0 - area

  def label_weight(self, lam: tf.Tensor, label: tf.Tensor,
                   partner_label: tf.Tensor) -> tf.Tensor:
    """The weight of y_i in the target: lam, or Remix's 0 / 1 for the minority class."""
    if not self.kappa:
      return lam
    counts = tf.constant(self.class_counts, tf.float32)
    ratio = tf.gather(counts, label) / tf.gather(counts, partner_label)
    return remix_weight(lam, ratio, self.kappa, self.tau)


def remix_weight(lam: tf.Tensor, ratio: tf.Tensor, kappa: float, tau: float) -> tf.Tensor:
  """Remix's label weight of example i given lam and n_i / n_j."""
  to_partner = (ratio >= kappa) & (lam < tau)
  to_self = (ratio <= 1.0 / kappa) & (1.0 - lam < tau)
  return tf.where(to_partner, 0.0, tf.where(to_self, 1.0, lam))


def cutmix_box(height: tf.Tensor, width: tf.Tensor, lam: tf.Tensor,
               centre: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """CutMix's boxes: (inside [b, h, w] bool, each box's share of the image [b]).

  A box of sides floor(h sqrt(1 - lam)) x floor(w sqrt(1 - lam)) centred at a uniformly
  drawn pixel, clipped to the image (so its area may be smaller than 1 - lam).
  """
  h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
  side = tf.sqrt(1.0 - lam)
  cut_h, cut_w = tf.floor(h * side), tf.floor(w * side)
  cy, cx = tf.floor(centre[:, 0] * h), tf.floor(centre[:, 1] * w)
  top, bottom = tf.clip_by_value(cy - tf.floor(cut_h / 2), 0, h), tf.clip_by_value(
      cy + tf.floor(cut_h / 2), 0, h)
  left, right = tf.clip_by_value(cx - tf.floor(cut_w / 2), 0, w), tf.clip_by_value(
      cx + tf.floor(cut_w / 2), 0, w)
  rows = tf.range(h)[None, :, None]
  cols = tf.range(w)[None, None, :]
  inside = ((rows >= top[:, None, None]) & (rows < bottom[:, None, None]) &
            (cols >= left[:, None, None]) & (cols < right[:, None, None]))
  return inside, (bottom - top) * (right - left) / (h * w)


def _beta_alpha(alpha: float) -> float:
  alpha = float(alpha)
  if not alpha > 0:
    raise ValueError(f"alpha={alpha} must be > 0 (lam ~ Beta(alpha, alpha))")
  return alpha


def _flag(name: str, value: bool) -> bool:
  if not isinstance(value, bool):
    raise ValueError(f"{name}={value!r} must be true or false")
  return value


@MIXERS.register("none")
def no_mixing() -> None:
  """No mixing: every example is trained as it is."""
  return None


@MIXERS.register("mixup")
def mixup(alpha: float = 1.0, per_batch: bool = False) -> Mixer:
  """Zhang et al. 2018: inputs and labels blended with lam ~ Beta(alpha, alpha)."""
  return Mixer(alpha=_beta_alpha(alpha), per_batch=_flag("per_batch", per_batch))


@MIXERS.register("cutmix")
def cutmix(alpha: float = 1.0, per_batch: bool = False) -> Mixer:
  """Yun et al. 2019: a box of the partner pasted in; labels mixed by its area."""
  return Mixer(alpha=_beta_alpha(alpha), boxes=True, per_batch=_flag("per_batch", per_batch))


@MIXERS.register("remix")
def remix(class_counts: np.ndarray, alpha: float = 1.0, kappa: float = 3.0, tau: float = 0.5,
          cutmix: bool = False, per_batch: bool = False) -> Mixer:  # pylint: disable=redefined-outer-name
  """Chou et al. 2020: mixup (or CutMix) inputs, labels favouring the minority class."""
  if not float(kappa) >= 1:
    raise ValueError(f"kappa={kappa} must be >= 1 (a ratio of class counts)")
  if not 0 <= float(tau) <= 1:
    raise ValueError(f"tau={tau} must lie in [0, 1]")
  return Mixer(alpha=_beta_alpha(alpha), boxes=_flag("cutmix", cutmix), kappa=float(kappa),
               tau=float(tau), class_counts=tuple(float(n) for n in class_counts),
               per_batch=_flag("per_batch", per_batch))
