"""Benchmark scripts: python -m framework.bench.<name>."""
