"""The comparisons' cheap one-edit test (neighbour swaps) says what Damerau-Levenshtein
within one says, and no comparison asks for the dear distance itself."""

from __future__ import annotations

import random

import duckdb
import pytest

from services.linkage.comparisons import MODEL_COMPARISONS, _one_edit, swaps_sql
from services.linkage.predict import _parameters, _weight_sql
from services.linkage.scoring import load_prior


def test_swaps_are_the_neighbour_transpositions_between_separators() -> None:
    con = duckdb.connect(":memory:")
    rows = con.execute(
        f"SELECT {swaps_sql('v')} FROM (VALUES ('ABCD'), ('A'), (''), (NULL)) t(v)"  # noqa: S608
    ).fetchall()

    assert [row[0] for row in rows] == ["\nBACD\nACBD\nABDC\n", None, None, None]


def _strings(rng: random.Random) -> list[str]:
    """Postcodes and dates (one with Welsh letters, as DuckDB counts characters, not bytes),
    and every kind of near miss of them: a typo, a swap, a letter gained or lost, two typos,
    and strings that share only their letters."""
    bases = ["CF11 9AB", "SA1 1AA", "2015-03-12", "2016-12-31", "4000", "AB", "ŴÂ1 9ÊB"]
    found = set(bases)
    for base in bases:
        for _ in range(40):
            text = list(base)
            for _edit in range(rng.randint(1, 2)):
                i = rng.randrange(len(text))
                match rng.randrange(4):
                    case 0:
                        text[i] = rng.choice("0123AB9 -Ŵ")
                    case 1 if i + 1 < len(text):
                        text[i], text[i + 1] = text[i + 1], text[i]
                    case 2:
                        text.insert(i, rng.choice("01AB"))
                    case _ if len(text) > 1:
                        del text[i]
            found.add("".join(text))
    return sorted(found)


@pytest.mark.parametrize("column", ["postcode", "date_of_birth"])
def test_the_one_edit_test_is_damerau_levenshtein_within_one(column: str) -> None:
    strings = _strings(random.Random(11))
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE words (v VARCHAR)")
    con.executemany("INSERT INTO words VALUES (?)", [(s,) for s in strings])
    con.execute(f"CREATE TABLE side AS SELECT v, {swaps_sql('v')} AS swaps FROM words")  # noqa: S608
    pairs = (
        f"SELECT l.v AS {column}_l, l.swaps AS {column}_swaps_l, r.v AS {column}_r"  # noqa: S608
        " FROM side l, side r"
    )
    rows = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {_one_edit(column)}),"  # noqa: S608
        f" count(*) FILTER (WHERE ({_one_edit(column)}) IS DISTINCT FROM"
        f" (damerau_levenshtein({column}_l, {column}_r) <= 1)) FROM ({pairs})"
    ).fetchall()
    pairs_compared, within_one_edit, disagreements = rows[0]

    assert pairs_compared == len(strings) ** 2
    assert within_one_edit > 2 * len(strings)  # near misses were among them
    assert disagreements == 0


def test_scoring_asks_for_no_damerau_levenshtein_distance() -> None:
    """A fifth of all scoring went on it before the swaps answered the same question."""
    levels = _parameters(load_prior())
    scored = " ".join(_weight_sql(c, levels) for c in MODEL_COMPARISONS)

    assert "hamming" in scored  # the one-edit levels are there
    assert "damerau_levenshtein" not in scored
