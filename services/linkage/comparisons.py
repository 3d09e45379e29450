"""The Fellegi-Sunter model's shape: comparison levels, blocking rules, training rules.

Each level carries the agreement label an officer sees, so the same table drives both
Splink's scoring and the per-field explanation of any pair (`agreement_case_sql`): the
label shown is always the level that scored the pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.linkage.models import AgreementLabel

# Jaro-Winkler cut-offs: 0.92 keeps a single typo in most names (Gwilym/Gwillym) while
# 0.80 still separates most unrelated names; below that a name is "different".
NAME_CLOSE = 0.92
NAME_NEAR = 0.80
# Token Jaccard, as a fraction so the SQL compares integers exactly.
ADDRESS_CLOSE_NUMERATOR, ADDRESS_CLOSE_DENOMINATOR = 3, 5
ADDRESS_CLOSE = ADDRESS_CLOSE_NUMERATOR / ADDRESS_CLOSE_DENOMINATOR


@dataclass(frozen=True, slots=True)
class Level:
    chart_label: str
    agreement: AgreementLabel
    sql: str
    tf_column: str | None = None


@dataclass(frozen=True, slots=True)
class FieldComparison:
    """One field's levels, from strongest agreement down; `missing` and `else` are implied."""

    field: str
    null_sql: str
    levels: tuple[Level, ...]
    #: A stated, fixed m for the implied "different" level, for a comparison whose
    #: disagreement the training data may never show among true pairs (EM would drive
    #: its m to underflow and fail, and one disagreement would veto any link).
    different_m: float | None = None


def _jw(column: str) -> str:
    return f'jaro_winkler_similarity("{column}_l", "{column}_r")'


def _both_null(column: str) -> str:
    return f'"{column}_l" IS NULL OR "{column}_r" IS NULL'


def _names_transposed() -> str:
    # Given and family entered the wrong way round, allowing a typo in either.
    return (
        f'(jaro_winkler_similarity("given_name_l", "family_name_r") >= {NAME_CLOSE}'
        f' AND jaro_winkler_similarity("family_name_l", "given_name_r") >= {NAME_CLOSE})'
    )


def _name_in_the_other_field() -> str:
    # One name keyed into the other's box while the box it left holds something else (a
    # middle name, a new surname, a slip): half a transposition, which the both-ways test
    # above never sees. Either direction is the same one piece of evidence (a name that
    # crossed boxes), so only the given-name comparison weighs it: scored by both, the one
    # agreement would count twice.
    return (
        f'(jaro_winkler_similarity("given_name_l", "family_name_r") >= {NAME_CLOSE}'
        f' OR jaro_winkler_similarity("given_name_r", "family_name_l") >= {NAME_CLOSE})'
    )


def _jaccard_at_least_close(column: str) -> str:
    """Token Jaccard >= ADDRESS_CLOSE. Tokens are distinct within a record, so the union
    is |l| + |r| - |l & r| and the test becomes integer arithmetic; the cheap size test in
    front (Jaccard can never exceed min/max) spares most pairs the list intersection."""
    n, d = ADDRESS_CLOSE_NUMERATOR, ADDRESS_CLOSE_DENOMINATOR
    left, right = f'len("{column}_l")', f'len("{column}_r")'
    both = f'len(list_intersect("{column}_l", "{column}_r"))'
    return (
        f"CASE WHEN least({left}, {right}) = 0"
        f" OR {d} * least({left}, {right}) < {n} * greatest({left}, {right}) THEN FALSE"
        f" ELSE {d + n} * {both} >= {n} * ({left} + {right}) END"
    )


#: Columns with a one-edit level. Each record also carries `<column>_swaps`
#: (`swaps_sql`, added as the workspace's tables are made), which `_one_edit` reads.
ONE_EDIT_COLUMNS: tuple[str, ...] = ("date_of_birth", "postcode")
SWAP_COLUMNS: tuple[str, ...] = tuple(f"{c}_swaps" for c in ONE_EDIT_COLUMNS)
#: Never inside a date or a postcode, whose whitespace is collapsed to single spaces.
_SWAP_SEPARATOR = "chr(10)"


def swaps_sql(value: str) -> str:
    """The strings made from `value` (an SQL string expression) by swapping two neighbouring
    characters, each between two `_SWAP_SEPARATOR`s: one string per record, not a list
    (DuckDB carries a string through the pairs' join at a fraction of a list's cost)."""
    s = _SWAP_SEPARATOR
    swapped = (
        f"substr({value}, 1, i - 1) || substr({value}, i + 1, 1) || substr({value}, i, 1)"
        f" || substr({value}, i + 2)"
    )
    return (
        f"CASE WHEN length({value}) > 1 THEN {s} || array_to_string("
        f"list_transform(range(1, length({value})), lambda i: {swapped}), {s}) || {s} END"
    )


def _one_edit(column: str) -> str:
    """Damerau-Levenshtein distance <= 1, computed the cheap way: lengths one apart can only
    differ by an insertion, where Levenshtein equals Damerau-Levenshtein and costs a fifth
    as much; equal lengths within one mismatch (Hamming) are one substitution; beyond that
    only an adjacent transposition is one edit, and it is one of the left record's
    neighbour swaps (`swaps_sql`), found by a substring search. Damerau-Levenshtein itself
    was a fifth of all scoring."""
    left, right = f'"{column}_l"', f'"{column}_r"'
    separator = _SWAP_SEPARATOR
    return (
        f"CASE WHEN abs(length({left}) - length({right})) > 1 THEN FALSE"
        f" WHEN length({left}) <> length({right}) THEN levenshtein({left}, {right}) <= 1"
        f" WHEN hamming({left}, {right}) <= 1 THEN TRUE"
        f' ELSE coalesce(contains("{column}_swaps_l", {separator} || {right} || {separator}),'
        " FALSE) END"
    )


FIELD_COMPARISONS: tuple[FieldComparison, ...] = (
    FieldComparison(
        "given_name",
        _both_null("given_name"),
        (
            Level("exact", "exact", '"given_name_l" = "given_name_r"', "given_name"),
            Level(
                "variant, nickname or middle name",
                "equivalent",
                '"given_canon_l" = "given_canon_r"'
                ' OR list_contains("given_alt_canons_r", "given_canon_l")'
                ' OR list_contains("given_alt_canons_l", "given_canon_r")',
            ),
            # Term-frequency adjusted like "exact": a near miss on a common name is weaker
            # evidence than one on a rare name, and never stronger than the exact common
            # name, or a twin's slipped name could outrank the other twin's exact one.
            Level(
                f"Jaro-Winkler >= {NAME_CLOSE}",
                "fuzzy",
                f"{_jw('given_name')} >= {NAME_CLOSE}",
                "given_name",
            ),
            # A spelling no table lists but that sounds the same (Ava/Eva, Lowri/Laura,
            # Rhys/Reece): heard at a counter, written down two ways.
            Level("sounds alike", "fuzzy", '"given_phonetic_l" = "given_phonetic_r"'),
            Level("given and family transposed", "swapped", _names_transposed()),
            Level("a name in the other name's field", "swapped", _name_in_the_other_field()),
            Level(f"Jaro-Winkler >= {NAME_NEAR}", "fuzzy", f"{_jw('given_name')} >= {NAME_NEAR}"),
        ),
    ),
    FieldComparison(
        "family_name",
        _both_null("family_name"),
        (
            Level("exact", "exact", '"family_name_l" = "family_name_r"', "family_name"),
            # Double-barrelled names reordered (Taylor-Owen, Owen-Taylor): the same words.
            Level(
                "same surname words, reordered",
                "equivalent",
                '"family_tokens_l" = "family_tokens_r"',
            ),
            Level(
                "former surname",
                "equivalent",
                'list_contains("family_former_r", "family_name_l")'
                ' OR list_contains("family_former_l", "family_name_r")'
                ' OR list_has_any("family_former_l", "family_former_r")',
            ),
            Level(
                f"Jaro-Winkler >= {NAME_CLOSE}",
                "fuzzy",
                f"{_jw('family_name')} >= {NAME_CLOSE}",
                "family_name",
            ),
            Level("given and family transposed", "swapped", _names_transposed()),
            Level(
                "shares a surname word (double-barrelled)",
                "partial",
                'list_has_any("family_tokens_l", "family_tokens_r")',
            ),
            Level(f"Jaro-Winkler >= {NAME_NEAR}", "fuzzy", f"{_jw('family_name')} >= {NAME_NEAR}"),
        ),
    ),
    FieldComparison(
        "date_of_birth",
        _both_null("date_of_birth"),
        (
            Level("exact", "exact", '"date_of_birth_l" = "date_of_birth_r"'),
            Level(
                "day and month swapped",
                "swapped",
                '"dob_year_l" = "dob_year_r" AND "dob_day_l" = "dob_month_r"'
                ' AND "dob_month_l" = "dob_day_r"',
            ),
            # A date a day to three days out is the commonest date slip between systems
            # (a registration or discharge date keyed for the birth date, a 28/29/30/31
            # misread) and, unlike "one digit off", is rare between strangers: its own
            # level, so a true pair is not charged as if the dates were unrelated.
            Level(
                "within three days",
                "fuzzy",
                'abs("dob_ordinal_l" - "dob_ordinal_r") <= 3',
            ),
            Level(
                "one digit off",
                "fuzzy",
                _one_edit("date_of_birth"),
            ),
        ),
    ),
    FieldComparison(
        "sex",
        _both_null("sex"),
        (Level("exact", "exact", '"sex_l" = "sex_r"'),),
    ),
    FieldComparison(
        "postcode",
        _both_null("postcode"),
        (
            Level("exact", "exact", '"postcode_l" = "postcode_r"'),
            Level(
                "one character off",
                "fuzzy",
                _one_edit("postcode"),
            ),
            Level("same sector", "partial", '"postcode_sector_l" = "postcode_sector_r"'),
            Level("same district", "partial", '"postcode_district_l" = "postcode_district_r"'),
        ),
    ),
    FieldComparison(
        "address",
        _both_null("address_text"),
        (
            Level("exact", "exact", '"address_text_l" = "address_text_r"'),
            Level(
                f"token Jaccard >= {ADDRESS_CLOSE}",
                "fuzzy",
                f"{_jaccard_at_least_close('address_tokens')}"
                f" OR {_jw('address_text')} >= {NAME_CLOSE}",
            ),
            Level(
                "shares an address word",
                "partial",
                'list_has_any("address_tokens_l", "address_tokens_r")',
            ),
        ),
    ),
)


_SAME_ADDRESS = (
    f'("address_text_l" = "address_text_r" OR {_jaccard_at_least_close("address_tokens")})'
)

#: Postcode and address move together when a family moves, so the model scores them as
#: one comparison: two separate ones would charge a house move twice. Officers still see
#: postcode and address agreement separately (`FIELD_COMPARISONS`).
RESIDENCE = FieldComparison(
    "residence",
    '("postcode_l" IS NULL AND "address_text_l" IS NULL)'
    ' OR ("postcode_r" IS NULL AND "address_text_r" IS NULL)',
    (
        Level(
            "same postcode and address",
            "exact",
            f'CASE WHEN "postcode_l" = "postcode_r" THEN {_SAME_ADDRESS} ELSE FALSE END',
        ),
        Level("same postcode", "exact", '"postcode_l" = "postcode_r"'),
        Level(
            "same address, postcode slip or missing",
            "fuzzy",
            # The rare postcode test first: the address test is the dearer one.
            f'CASE WHEN "postcode_l" IS NULL OR "postcode_r" IS NULL OR {_one_edit("postcode")}'
            f" THEN {_SAME_ADDRESS} ELSE FALSE END",
        ),
        Level(
            "postcode one character off",
            "fuzzy",
            _one_edit("postcode"),
        ),
        Level("same postcode sector", "partial", '"postcode_sector_l" = "postcode_sector_r"'),
        Level("same postcode district", "partial", '"postcode_district_l" = "postcode_district_r"'),
    ),
)

#: Middle names: scored, not shown as a field of their own. Missing on either side is no
#: evidence (admission forms often ask for a first name only); nor are the same given and
#: middle words in another order (a child known by a middle name), which the given-name
#: comparison has already weighed. One middle name in common agrees: a second one is often
#: dropped.
MIDDLE_NAMES = FieldComparison(
    "middle_names",
    'len("middle_tokens_l") = 0 OR len("middle_tokens_r") = 0'
    ' OR ("given_words_l" = "given_words_r" AND "middle_tokens_l" <> "middle_tokens_r")',
    (
        Level(
            "shares a middle name",
            "exact",
            'list_has_any("middle_tokens_l", "middle_tokens_r")',
        ),
    ),
    # About one child in fifty with middle names on both sides has them recorded with no
    # word in common (misspelt, one replaced): a judgement. Stated, since EM on data that
    # never shows it would drive it to zero and one disagreement would veto any link.
    different_m=0.02,
)

#: What the model scores: names, date of birth and sex as shown, plus `RESIDENCE` and
#: `MIDDLE_NAMES`.
MODEL_COMPARISONS: tuple[FieldComparison, ...] = (
    *(c for c in FIELD_COMPARISONS if c.field not in {"postcode", "address"}),
    MIDDLE_NAMES,
    RESIDENCE,
)


def splink_comparisons() -> list[dict[str, Any]]:
    """Splink comparison dicts built from `MODEL_COMPARISONS`."""
    comparisons = []
    for comparison in MODEL_COMPARISONS:
        levels: list[dict[str, Any]] = [
            {
                "sql_condition": comparison.null_sql,
                "label_for_charts": "missing",
                "is_null_level": True,
            }
        ]
        for level in comparison.levels:
            level_dict: dict[str, Any] = {
                "sql_condition": level.sql,
                "label_for_charts": level.chart_label,
            }
            if level.tf_column is not None:
                level_dict["tf_adjustment_column"] = level.tf_column
                level_dict["tf_adjustment_weight"] = 1.0
            levels.append(level_dict)
        different: dict[str, Any] = {"sql_condition": "ELSE", "label_for_charts": "different"}
        if comparison.different_m is not None:
            different |= {"m_probability": comparison.different_m, "fix_m_probability": True}
        levels.append(different)
        comparisons.append(
            {
                "output_column_name": comparison.field,
                "comparison_description": comparison.field.replace("_", " "),
                "comparison_levels": levels,
            }
        )
    return comparisons


def agreement_case_sql(comparison: FieldComparison) -> str:
    """A CASE expression giving the agreement label of a pair, over `_l`/`_r` columns."""
    branches = " ".join(f"WHEN {level.sql} THEN '{level.agreement}'" for level in comparison.levels)
    return f"CASE WHEN {comparison.null_sql} THEN 'missing' {branches} ELSE 'different' END"


#: Pairs Splink scores. Together they must keep recall: a true pair is lost only if it
#: fails every rule (wrong date of birth AND moved AND surname changed AND renamed...).
#: A surname alone is never paired with a whole birth year: Jones x Jones within one year
#: is a quarter of a million pairs in Cardiff. Instead the surname code is paired with
#: any two of the three date parts, or with day and month swapped, which reaches every
#: date slip the model scores (one digit off, day-month swap) at a tenth of the pairs.
PREDICTION_BLOCKING_RULES: tuple[str, ...] = (
    'l."date_of_birth" = r."date_of_birth"',
    'l."family_phonetic" = r."family_phonetic" AND l."dob_year" = r."dob_year"'
    ' AND l."dob_month" = r."dob_month"',
    'l."family_phonetic" = r."family_phonetic" AND l."dob_year" = r."dob_year"'
    ' AND l."dob_day" = r."dob_day"',
    'l."family_phonetic" = r."family_phonetic" AND l."dob_month" = r."dob_month"'
    ' AND l."dob_day" = r."dob_day"',
    'l."family_phonetic" = r."family_phonetic" AND l."dob_day" = r."dob_month"'
    ' AND l."dob_month" = r."dob_day"',
    # A birth date slipped a day or three across a month end (31 January, 1 February)
    # shares no date part. Any two dates at most three days apart fall in one 7-day bucket
    # of one of these two tilings (their boundaries interleave 3 and 4 days apart), so two
    # equality joins reach them all at a few pairs per surname and week.
    'l."family_phonetic" = r."family_phonetic" AND l."dob_ordinal" // 7 = r."dob_ordinal" // 7',
    'l."family_phonetic" = r."family_phonetic"'
    ' AND (l."dob_ordinal" + 3) // 7 = (r."dob_ordinal" + 3) // 7',
    'l."postcode" = r."postcode"',
    'l."given_canon" = r."given_canon" AND l."dob_year" = r."dob_year"'
    ' AND l."dob_month" = r."dob_month"',
    # Given name and surname together with any one date part, or with no date to compare:
    # the same pair of names with no date part in common is, in a Welsh authority, far
    # more often two Megan Joneses than one child with three date slips.
    *(
        'l."given_canon" = r."given_canon" AND l."family_phonetic" = r."family_phonetic"'
        f" AND {part}"
        for part in (
            'l."dob_year" = r."dob_year"',
            'l."dob_month" = r."dob_month"',
            'l."dob_day" = r."dob_day"',
            '(l."date_of_birth" IS NULL OR r."date_of_birth" IS NULL)',
        )
    ),
    'l."given_name" = r."family_name" AND l."family_name" = r."given_name"',
    'l."address_text" = r."address_text"',
)

#: EM blocks: each leaves the fields it does not block on free to be estimated.
TRAINING_BLOCKING_RULES: tuple[str, ...] = (
    'l."date_of_birth" = r."date_of_birth"',
    'l."postcode" = r."postcode" AND l."given_canon" = r."given_canon"',
)
