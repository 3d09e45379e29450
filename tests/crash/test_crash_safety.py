"""Crash safety, short version for CI: an acknowledged submission survives any crash.

Kills the service (SIGKILL) and PostgreSQL (immediate shutdown) while 50 signed
submissions are in flight, restarts, resends what was not acknowledged and reads the
database: nothing acknowledged lost, nothing partial, nothing twice. The negative control
switches the cluster to asynchronous commit behind the service's back and shows the same
harness catching the loss. The long run, 10 rounds of each kind of kill, is
`.venv/bin/python -m tests.crash.harness --rounds 30` (see tests/crash/harness.py).

Each test starts its own PostgreSQL cluster (initdb from the server binaries); without
them the tests are skipped, unless CME_TEST_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os

import pytest

from tests.crash.harness import Config, HarnessUnavailable, Report, run

pytestmark = pytest.mark.postgres

REQUIRE_POSTGRES = os.environ.get("CME_TEST_REQUIRE_POSTGRES") == "1"


def _run(config: Config) -> Report:
    try:
        return run(config)
    except HarnessUnavailable as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL binaries are required (CME_TEST_REQUIRE_POSTGRES=1): {error}")
        pytest.skip(str(error))


def test_kills_lose_nothing_acknowledged() -> None:
    # mixed: the rounds kill the service, then PostgreSQL, then both at once.
    report = _run(Config(rounds=3, kill="mixed", seed=5, time_cap_seconds=150))

    details = "\n".join(report.final.details[:10])
    assert report.sent == 3 * 50
    assert [row.kill for row in report.rows] == ["service", "postgres", "both"]
    assert report.final.lost == 0, details
    assert report.final.partial == 0, details
    assert report.final.duplicated == 0, details
    assert report.final.unresolved == 0, details
    assert report.final.bad_answers == 0, details
    assert all(row.findings.violations == 0 for row in report.rows), report.table()
    assert report.audit_intact, report.audit_chain
    # The kills really hit requests in flight, and those were resent and stored. (Per round
    # the moment is random: on a fast machine a round may finish before its kill.)
    assert any(row.in_flight > 0 for row in report.rows), report.table()
    assert sum(row.resent for row in report.rows) > 0
    assert report.acknowledged > 0


def test_negative_control_catches_lost_acknowledgements() -> None:
    report = _run(Config(rounds=2, negative_control=True, seed=7, time_cap_seconds=120))

    # The service itself refuses connections configured with synchronous_commit off ...
    assert report.unsafe_option_refused is True
    # ... so the cluster goes asynchronous after startup, and the harness sees the loss.
    assert report.final.lost > 0, report.table()
    assert report.final.unresolved >= report.final.lost
    # Asynchronous commit loses whole transactions, never parts of one.
    assert report.final.partial == 0, report.table()
    assert report.final.duplicated == 0, report.table()
