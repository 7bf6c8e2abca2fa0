"""Benchmarks of must-gather-api against real peers on the same machine (``python -m bench``).

Not tests: nothing here runs under pytest, and a slow machine never fails ``make test``.
"""
