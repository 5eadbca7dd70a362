"""Data: sources, the protocol (long tail, label noise, leave-out, folds), the input
transform, the DataBundle.

Names load on first use; `DATASETS` comes with every built-in source registered.
"""

from framework.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "build": "builder", "check_config": "builder", "resolve_config": "builder",
    "default_data_config": "builder", "DATASETS": "builder",
    "DataBundle": "bundle", "Split": "bundle",
    "data_fingerprint": "fingerprint", "fingerprint_changes": "fingerprint",
    "FASHION_MNIST_NAMES": "idx", "read_idx": "idx",
    "Arrays": "sources", "Source": "sources",
    "Column": "columns",
    "LONG_TAIL": "protocol", "NOISE": "protocol",
    "fold_of": "folds", "leave_out_rows": "leave_out",
    "InputTransform": "augment",
    "MIXERS": "mixing", "Mixer": "mixing",
    "ArrayExamples": "examples", "FileExamples": "examples", "LookupExamples": "examples",
}

__getattr__, __dir__ = _lazy_exports(__name__, globals(), _EXPORTS)
__all__ = __dir__()
