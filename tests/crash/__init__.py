"""Crash-safety harness and its short CI run (issue 5, item 3)."""
