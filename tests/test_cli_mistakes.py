"""Ordinary mistakes with the client commands get one line saying what is wrong and what to
do, and a non-zero exit status, never a traceback; and every client command finds the
service at --base-url, or else at CME_PUBLIC_BASE_URL."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from cli.extracts import csv_header, row_from_record
from services.access.keys import generate_key_pair, public_jwk
from tests.cli import assert_one_line_error, cme
from tests.conftest import free_port
from tests.factories import education_record, health_record

CLIENT_COMMANDS = ["push", "pull", "token", "education upload", "reconciliations list"]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    pem, public = generate_key_pair("ec")
    native = public.public_key
    assert native is not None
    paths = {
        "key": tmp_path / "client.pem",
        "public_jwk": tmp_path / "client.jwk",
        "public_pem": tmp_path / "client.pub.pem",
        "extract": tmp_path / "extract.json",
        "extract_csv": tmp_path / "extract.csv",
        "education": tmp_path / "education.json",
        "education_csv": tmp_path / "education.csv",
    }
    paths["key"].write_text(pem)
    paths["public_jwk"].write_text(json.dumps(public_jwk(public)))
    paths["public_pem"].write_bytes(
        native.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    paths["extract"].write_text(json.dumps([health_record(1), health_record(2)]))
    with paths["extract_csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=csv_header())
        writer.writeheader()
        writer.writerow(row_from_record(health_record(1)))
    paths["education"].write_text(
        json.dumps({"as_of": "2026-01-20", "records": [education_record(1)]})
    )
    paths["education_csv"].write_text(
        "as_of,record_id,given_name,family_name,date_of_birth,provision\n"
        "2026-01-20,e1,Mali,Evans,2016-01-05,maintained_school\n"
    )
    return paths


def command_line(command: str, files: dict[str, Path], *, key: Path | None = None) -> list[str]:
    """The command with everything it needs but --base-url."""
    credentials = ["--client-id", "cli_x", "--key", str(key or files["key"])]
    return {
        "push": ["push", str(files["extract"]), "--lhb", "7A4", *credentials],
        "pull": ["pull", "--la", "W06000015", *credentials],
        "token": ["token", *credentials],
        "education upload": [
            "education",
            "upload",
            str(files["education"]),
            "--la",
            "W06000015",
            *credentials,
        ],
        "reconciliations list": ["reconciliations", "list", "--la", "W06000015", *credentials],
    }[command]


@pytest.mark.parametrize("command", CLIENT_COMMANDS)
def test_every_client_command_goes_to_cme_public_base_url_and_says_when_it_is_unreachable(
    command: str, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("CME_PUBLIC_BASE_URL", nobody)

    result = cme(*command_line(command, files))

    assert_one_line_error(result, f"cannot reach the service at {nobody}", exit_code=3)


@pytest.mark.parametrize("command", CLIENT_COMMANDS)
def test_base_url_outranks_the_environment(
    command: str, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CME_PUBLIC_BASE_URL", f"http://127.0.0.1:{free_port()}")
    given = f"http://127.0.0.1:{free_port()}"

    result = cme(*command_line(command, files), "--base-url", given)

    assert_one_line_error(result, f"cannot reach the service at {given}", exit_code=3)


@pytest.mark.parametrize("command", CLIENT_COMMANDS)
@pytest.mark.parametrize("public_key", ["public_jwk", "public_pem"])
def test_a_public_key_given_as_key_is_named_as_such(
    command: str, public_key: str, files: dict[str, Path]
) -> None:
    result = cme(*command_line(command, files, key=files[public_key]))

    assert_one_line_error(result, "is a public key", "private key", exit_code=2)


@pytest.mark.parametrize("command", CLIENT_COMMANDS)
def test_a_missing_key_file_is_named(command: str, files: dict[str, Path]) -> None:
    result = cme(*command_line(command, files, key=files["key"].with_name("nowhere.pem")))

    assert_one_line_error(result, "no key file", "nowhere.pem", exit_code=2)


@pytest.mark.parametrize(
    ("command", "given", "says"),
    [
        ("push", "education", "an authority's education records"),
        ("push", "education_csv", "an authority's education records"),
        ("education upload", "extract", "a health board's extract"),
        ("education upload", "extract_csv", "a health board's extract"),
    ],
)
def test_a_file_given_to_the_wrong_command_is_named_with_the_right_one(
    command: str, given: str, says: str, files: dict[str, Path]
) -> None:
    line = command_line(command, files)
    usual = files["extract" if command == "push" else "education"]
    line[line.index(str(usual))] = str(files[given])

    result = cme(*line)

    right = "cme push" if command != "push" else "cme education upload"
    assert_one_line_error(result, f"looks like {says}", f"`{right} {files[given]}", exit_code=2)


def test_a_base_url_without_a_scheme_is_refused(files: dict[str, Path]) -> None:
    result = cme(*command_line("token", files), "--base-url", "cme.example.nhs.wales")

    assert_one_line_error(result, "--base-url must start with http", exit_code=2)


def test_a_non_utf8_csv_needs_its_charset(files: dict[str, Path], tmp_path: Path) -> None:
    spreadsheet = tmp_path / "education-1252.csv"
    spreadsheet.write_bytes(
        files["education_csv"].read_text().replace("Mali", "Siân").encode("cp1252")
    )

    result = cme(
        "education",
        "upload",
        spreadsheet,
        "--la",
        "W06000015",
        "--client-id",
        "cli_x",
        "--key",
        files["key"],
    )

    assert_one_line_error(result, "not UTF-8", "--charset windows-1252", exit_code=2)


def test_keys_generate_never_overwrites_a_key(files: dict[str, Path]) -> None:
    before = files["key"].read_text()

    result = cme(
        "keys",
        "generate",
        "--private-key",
        files["key"],
        "--public-key",
        files["key"].with_suffix(".new"),
    )

    assert_one_line_error(result, f"{files['key']} exists already", exit_code=2)
    assert files["key"].read_text() == before


def test_clients_add_names_a_missing_public_key_file(tmp_path: Path) -> None:
    result = cme(
        "clients",
        "add",
        "--org",
        "7A4",
        "--name",
        "x",
        "--scope",
        "submissions:write",
        "--public-key",
        tmp_path / "board.jwk",
    )

    assert_one_line_error(result, f"no public key file {tmp_path / 'board.jwk'}", exit_code=2)


@pytest.mark.parametrize("state", ["{not json", '{"since": "2026-01-01"}', "[]"])
def test_pull_names_an_unreadable_state_file(
    state: str, files: dict[str, Path], tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    state_file.write_text(state)

    result = cme(*command_line("pull", files), "--state", state_file)

    assert_one_line_error(result, f"state file {state_file} is unreadable", "--full", exit_code=2)


def test_pull_names_an_output_file_it_cannot_write(files: dict[str, Path], tmp_path: Path) -> None:
    result = cme(*command_line("pull", files), "--out", tmp_path / "no" / "cases.csv")

    assert_one_line_error(result, f"there is no directory {tmp_path / 'no'}", exit_code=2)
