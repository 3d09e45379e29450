"""Operator commands say which database they use and refuse one that is missing or not
migrated, with what to do, instead of creating an empty `./cme.db` or failing half-way;
`cme serve` refuses to start on one; `cme db upgrade` creates and migrates, and says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import make_url

from services.access.keys import generate_key_pair, public_jwk
from services.store.schema_version import display_url, head_revision
from tests.cli import assert_one_line_error, cme

OPERATOR_COMMANDS = [
    ["clients", "list"],
    ["clients", "add", "--org", "7A4", "--name", "x", "--scope", "submissions:write"],
    ["clients", "revoke-key", "--client-id", "cli_x", "--kid", "k"],
    ["subject-access", "--la", "W06000015", "--record-id", "cav-1"],
    ["erase", "--case-id", "c"],
    ["restrict", "--case-id", "c"],
    ["purge"],
    ["transfers", "overdue"],
    ["audit", "verify"],
    ["worker", "--once"],
    ["serve"],
]


@pytest.fixture(autouse=True)
def _logging_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cme serve` and `cme worker` configure the process's logging: not the test run's."""
    monkeypatch.setattr("cli.main.configure_logging", lambda _level: None)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`cme serve` gets as far as starting uvicorn, which then returns at once."""
    started: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: started.append(app))
    return started


@pytest.fixture
def public_key(tmp_path: Path) -> Path:
    path = tmp_path / "public.jwk"
    path.write_text(json.dumps(public_jwk(generate_key_pair("ec")[1])))
    return path


def arguments(command: list[str], public_key: Path) -> list[str]:
    if command[:2] == ["clients", "add"]:
        return [*command, "--public-key", str(public_key)]
    return command


@pytest.fixture
def elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point_cli: Callable[[str | None], None]
) -> Path:
    """A directory without a database, and CME_DATABASE_URL unset."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    monkeypatch.chdir(directory)
    point_cli(None)
    return directory


@pytest.fixture
def unmigrated(unmigrated_database_url: str, point_cli: Callable[[str | None], None]) -> str:
    point_cli(unmigrated_database_url)
    return unmigrated_database_url


@pytest.mark.parametrize("command", OPERATOR_COMMANDS, ids=" ".join)
def test_an_operator_command_run_elsewhere_names_the_database_it_looked_for(
    command: list[str], elsewhere: Path, public_key: Path, served: list[str]
) -> None:
    result = cme(*arguments(command, public_key))

    assert_one_line_error(
        result,
        f"no database at {elsewhere / 'cme.db'}",
        "CME_DATABASE_URL is not set",
        "cme db upgrade",
        exit_code=2,
    )
    assert not (elsewhere / "cme.db").exists()
    assert served == []


@pytest.mark.parametrize("command", OPERATOR_COMMANDS, ids=" ".join)
def test_an_operator_command_refuses_an_unmigrated_database(
    command: list[str], unmigrated: str, public_key: Path, served: list[str]
) -> None:
    result = cme(*arguments(command, public_key))

    line = assert_one_line_error(
        result, display_url(unmigrated), "has no tables yet", "run `cme db upgrade`", exit_code=2
    )
    assert "s3cret-pw" not in line
    assert served == []


def test_serve_says_which_database_it_serves(
    database_url: str, point_cli: Callable[[str | None], None], served: list[str]
) -> None:
    point_cli(database_url)

    result = cme("serve")

    assert result.exit_code == 0, result.output
    assert served == ["api.main:app"]
    assert f"database: {display_url(database_url)}" in result.stderr


def test_db_upgrade_creates_the_database_and_says_what_it_did(elsewhere: Path) -> None:
    created = cme("db", "upgrade")
    again = cme("db", "upgrade")

    assert created.exit_code == 0, created.output
    assert created.stderr.strip() == (
        f"database sqlite:///{elsewhere / 'cme.db'} created and migrated to {head_revision()}"
    )
    assert again.exit_code == 0, again.output
    assert again.stderr.strip() == (
        f"database sqlite:///{elsewhere / 'cme.db'} is already at the latest migration, "
        f"{head_revision()}"
    )
    assert cme("clients", "list").exit_code == 0


def test_db_upgrade_migrates_an_empty_database_and_never_shows_its_password(
    unmigrated: str,
) -> None:
    result = cme("db", "upgrade")

    assert result.exit_code == 0, result.output
    shown = display_url(unmigrated)
    assert result.stderr.strip() == f"database {shown} migrated from empty to {head_revision()}"
    assert "s3cret-pw" not in result.output
    if make_url(unmigrated).password:
        assert ":***@" in shown
