"""Meta-learned weight rules (importing registers them): l2rw, mwnet, meta_alpha.

All three differentiate a clean validation loss through one virtual SGD step; the
shared, exact maths is in `hypergradient`.
"""

from framework.weights.meta.hypergradient import (Hypergradient, normalized, replica_sum,
                                                  weight_hypergradient)
from framework.weights.meta.l2rw import l2rw, l2rw_weights
from framework.weights.meta.meta_alpha import alpha_hypergradient, meta_alpha
from framework.weights.meta.mwnet import init_vnet, mwnet, vnet, vnet_hypergradient, vnet_weight
