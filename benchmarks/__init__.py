"""Benchmark suite: seeded US instances, peer MIP solvers and the harness that compares them.

Kept outside the package and outside the default test run; see ``benchmarks/README.md``
for the protocol.
"""
