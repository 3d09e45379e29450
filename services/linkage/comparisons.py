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
ADDRESS_CLOSE = 0.60  # token Jaccard


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


def _jaccard(column: str) -> str:
    union = f'len(list_distinct(list_concat("{column}_l", "{column}_r")))'
    return f'len(list_intersect("{column}_l", "{column}_r")) / greatest({union}, 1)'


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
            Level(f"Jaro-Winkler >= {NAME_CLOSE}", "fuzzy", f"{_jw('given_name')} >= {NAME_CLOSE}"),
            Level("given and family transposed", "swapped", _names_transposed()),
            Level(f"Jaro-Winkler >= {NAME_NEAR}", "fuzzy", f"{_jw('given_name')} >= {NAME_NEAR}"),
        ),
    ),
    FieldComparison(
        "family_name",
        _both_null("family_name"),
        (
            Level("exact", "exact", '"family_name_l" = "family_name_r"', "family_name"),
            Level(
                "former surname",
                "equivalent",
                'list_contains("family_former_r", "family_name_l")'
                ' OR list_contains("family_former_l", "family_name_r")'
                ' OR len(list_intersect("family_former_l", "family_former_r")) > 0',
            ),
            Level(
                f"Jaro-Winkler >= {NAME_CLOSE}", "fuzzy", f"{_jw('family_name')} >= {NAME_CLOSE}"
            ),
            Level("given and family transposed", "swapped", _names_transposed()),
            Level(
                "shares a surname word (double-barrelled)",
                "partial",
                'len(list_intersect("family_tokens_l", "family_tokens_r")) > 0',
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
            Level(
                "one digit off",
                "fuzzy",
                'damerau_levenshtein("date_of_birth_l", "date_of_birth_r") <= 1',
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
                'damerau_levenshtein("postcode_l", "postcode_r") <= 1',
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
                f"{_jaccard('address_tokens')} >= {ADDRESS_CLOSE}"
                f" OR {_jw('address_text')} >= {NAME_CLOSE}",
            ),
            Level(
                "shares an address word",
                "partial",
                'len(list_intersect("address_tokens_l", "address_tokens_r")) > 0',
            ),
        ),
    ),
)


_SAME_ADDRESS = (
    f'("address_text_l" = "address_text_r" OR {_jaccard("address_tokens")} >= {ADDRESS_CLOSE})'
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
            "same postcode and address", "exact", f'"postcode_l" = "postcode_r" AND {_SAME_ADDRESS}'
        ),
        Level("same postcode", "exact", '"postcode_l" = "postcode_r"'),
        Level(
            "same address, postcode slip or missing",
            "fuzzy",
            f'{_SAME_ADDRESS} AND (damerau_levenshtein("postcode_l", "postcode_r") <= 1'
            ' OR "postcode_l" IS NULL OR "postcode_r" IS NULL)',
        ),
        Level(
            "postcode one character off",
            "fuzzy",
            'damerau_levenshtein("postcode_l", "postcode_r") <= 1',
        ),
        Level("same postcode sector", "partial", '"postcode_sector_l" = "postcode_sector_r"'),
        Level("same postcode district", "partial", '"postcode_district_l" = "postcode_district_r"'),
    ),
)

#: What the model scores: names, date of birth and sex as shown, plus `RESIDENCE`.
MODEL_COMPARISONS: tuple[FieldComparison, ...] = (
    *(c for c in FIELD_COMPARISONS if c.field not in {"postcode", "address"}),
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
        levels.append({"sql_condition": "ELSE", "label_for_charts": "different"})
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
PREDICTION_BLOCKING_RULES: tuple[str, ...] = (
    'l."date_of_birth" = r."date_of_birth"',
    'l."family_phonetic" = r."family_phonetic" AND l."dob_year" = r."dob_year"',
    'l."postcode" = r."postcode"',
    'l."given_canon" = r."given_canon" AND l."dob_year" = r."dob_year"'
    ' AND l."dob_month" = r."dob_month"',
    'l."given_canon" = r."given_canon" AND l."family_phonetic" = r."family_phonetic"',
    'l."given_name" = r."family_name" AND l."family_name" = r."given_name"',
    'l."address_text" = r."address_text"',
)

#: EM blocks: each leaves the fields it does not block on free to be estimated.
TRAINING_BLOCKING_RULES: tuple[str, ...] = (
    'l."date_of_birth" = r."date_of_birth"',
    'l."postcode" = r."postcode" AND l."given_canon" = r."given_canon"',
)
