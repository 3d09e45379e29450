"""Benchmarks: each module is a script run by path (see the README)."""
