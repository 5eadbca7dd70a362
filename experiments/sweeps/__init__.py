"""Sweep declarations: `get_sweep()` returns a `framework.sweeps.Sweep` over an experiment.

  python -m framework.sweeps.run --sweep=experiments/sweeps/fmnist_lt_table.py --root=/tmp/lt_runs
"""
