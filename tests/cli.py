"""Running the `cme` command in tests, as a person would type it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner, Result

from cli.main import app

runner = CliRunner()


def cme(*arguments: str | Path) -> Result:
    return runner.invoke(app, [str(argument) for argument in arguments])


def assert_one_line_error(result: Result, *fragments: str, exit_code: int | None = None) -> str:
    """The command failed with one error line on stderr saying (at least) these fragments,
    no traceback and nothing on stdout; the line is returned."""
    assert result.exit_code != 0, result.output
    if exit_code is not None:
        assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@dataclass(frozen=True)
class Registered:
    client_id: str
    private_key: Path
    public_key: Path

    @property
    def options(self) -> list[str | Path]:
        """`--client-id ID --key FILE`, as every client command takes them."""
        return ["--client-id", self.client_id, "--key", self.private_key]


def register(tmp_path: Path, *, org: str, scopes: list[str], name: str = "client") -> Registered:
    """Generate a key pair and register a client with it, through the CLI (the database is
    the one CME_DATABASE_URL names)."""
    private_key, public_key = tmp_path / f"{name}.pem", tmp_path / f"{name}.jwk"
    generated = cme("keys", "generate", "--private-key", private_key, "--public-key", public_key)
    assert generated.exit_code == 0, generated.output
    scope_options = [option for scope in scopes for option in ("--scope", scope)]
    added = cme(
        "clients",
        "add",
        "--org",
        org,
        "--name",
        name,
        *scope_options,
        "--public-key",
        public_key,
        "--json",
    )
    assert added.exit_code == 0, added.output
    return Registered(json.loads(added.stdout)["client_id"], private_key, public_key)
