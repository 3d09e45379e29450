"""`cme officers add/remove/list`: who may sign in to the console."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import Result

from tests.cli import cme


@pytest.fixture
def operator_database(database_url: str, point_cli: Callable[[str | None], None]) -> str:
    point_cli(database_url)
    return database_url


def test_add_list_and_remove_officers(operator_database: str) -> None:
    added = cme(
        "officers", "add", "--la", "W06000015", "--subject", "sub-1", "--name", "Siân", "--json"
    )
    cleared = cme(
        "officers",
        "add",
        "--la",
        "W06000011",
        "--subject",
        "sub-2",
        "--name",
        "Gareth",
        "--sensitive",
        "--json",
    )

    assert added.exit_code == 0, added.output
    first = json.loads(added.stdout)
    assert {k: first[k] for k in ("la", "subject", "name", "sensitive")} == {
        "la": "W06000015",
        "subject": "sub-1",
        "name": "Siân",
        "sensitive": False,
    }
    assert len(first["officer_id"]) == 36
    assert json.loads(cleared.stdout)["sensitive"] is True
    listed = json.loads(cme("officers", "list", "--json").stdout)["items"]
    assert [(o["la"], o["subject"]) for o in listed] == [
        ("W06000011", "sub-2"),
        ("W06000015", "sub-1"),
    ]
    only = json.loads(cme("officers", "list", "--la", "W06000015", "--json").stdout)["items"]
    assert [o["subject"] for o in only] == ["sub-1"]
    assert "sub-2" in cme("officers", "list").stdout

    removed = cme("officers", "remove", "--subject", "sub-1")

    assert removed.exit_code == 0, removed.output
    remaining = json.loads(cme("officers", "list", "--json").stdout)["items"]
    assert [o["subject"] for o in remaining] == ["sub-2"]


def assert_one_error_line(result: Result, *fragments: str) -> None:
    """Refused with one error line (after the line naming the database), no traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if not line.startswith("database: ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in errors[0]


def test_mistakes_are_one_line_without_a_traceback(operator_database: str) -> None:
    cme("officers", "add", "--la", "W06000015", "--subject", "sub-1", "--name", "Siân")

    assert_one_error_line(
        cme("officers", "add", "--la", "W06000015", "--subject", "sub-1", "--name", "Other"),
        "officer_exists",
    )
    assert_one_error_line(
        cme("officers", "add", "--la", "7A4", "--subject", "sub-9", "--name", "Board"),
        "--la",
        "Welsh authority",
    )
    assert_one_error_line(cme("officers", "remove", "--subject", "nobody"), "not_found")
