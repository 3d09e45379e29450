"""Crash safety: a harness that kills the service and PostgreSQL mid-submission, and its
short CI run."""
