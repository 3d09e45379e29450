"""`cme clients list`: a lost client_id is found again, with its scopes and active keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from services.access.keys import generate_key_pair, public_jwk
from services.store.schema_version import display_url
from tests.cli import cme, register


@pytest.fixture
def operator_database(database_url: str, point_cli: Callable[[str | None], None]) -> str:
    point_cli(database_url)
    return database_url


def test_clients_list_shows_each_client_with_its_active_keys(
    operator_database: str, tmp_path: Path
) -> None:
    board = register(tmp_path, org="7A4", scopes=["submissions:write"], name="board")
    cardiff = register(tmp_path, org="W06000015", scopes=["cme:read", "cme:write"], name="cardiff")
    first_kid = json.loads(cme("clients", "list", "--json").stdout)["items"][1]["active_kids"][0]
    new_key = tmp_path / "new.jwk"
    new_key.write_text(json.dumps(public_jwk(generate_key_pair("ec")[1])))
    added = cme(
        "clients", "add-key", "--client-id", cardiff.client_id, "--public-key", new_key, "--json"
    )
    new_kid = json.loads(added.stdout)["kid"]
    assert (
        cme("clients", "revoke-key", "--client-id", cardiff.client_id, "--kid", first_kid).exit_code
        == 0
    )

    listed = cme("clients", "list", "--json")
    only_cardiff = cme("clients", "list", "--org", "W06000015", "--json")
    for_people = cme("clients", "list")

    assert listed.exit_code == 0, listed.output
    assert listed.stdout.count("\n") == 1
    items = json.loads(listed.stdout)["items"]
    assert [(c["client_id"], c["org"], c["name"], c["scopes"]) for c in items] == [
        (board.client_id, "7A4", "board", ["submissions:write"]),
        (cardiff.client_id, "W06000015", "cardiff", ["cme:read", "cme:write"]),
    ]
    assert items[1]["active_kids"] == [new_kid]
    assert [c["client_id"] for c in json.loads(only_cardiff.stdout)["items"]] == [cardiff.client_id]
    assert for_people.exit_code == 0, for_people.output
    assert f"{cardiff.client_id}  W06000015 Cardiff  'cardiff'" in for_people.stdout
    assert f"active key ids: {new_kid}" in for_people.stdout
    assert first_kid not in for_people.stdout
    assert for_people.stderr.strip() == f"database: {display_url(operator_database)}"
