"""Benchmarks for optilab.autograd against torch (CPU, eager), HIPS autograd and micrograd.

Run ``python -m benchmarks.bench_autograd --help`` from the repository root; see README.md.
"""
