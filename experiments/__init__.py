"""Experiment configs, one file each: `get_config(variant)` and `VARIANTS`.

Launched by path (`python launch.py --config=experiments/fmnist_lt.py:focal`); installed
with the package as `framework.experiments`, so studies and benchmarks find them by name
from any install (`framework.config.load_experiment("fmnist_lt")`).
"""
