"""A model of several peer networks trained together (co-teaching's two networks).

The peers live inside one Keras model, so the trainer, the checkpoint and the strategy
see one model: in training (`training=True`) it returns the list of the peers' logits
(the trainer then computes a per-example loss per peer, [B, P], and the rule weights each
peer's examples); at inference the first peer's logits, which evaluation and export use.
"""

from __future__ import annotations

from typing import Sequence

import keras


class PeerModel(keras.Model):
  """Peers with the same inputs; `networks[0]` answers at inference."""

  def __init__(self, networks: Sequence[keras.Model], **kwargs):
    super().__init__(**kwargs)
    self.networks = list(networks)

  def call(self, inputs, training=None):
    if training:
      return [network(inputs, training=True) for network in self.networks]
    return self.networks[0](inputs, training=training)
