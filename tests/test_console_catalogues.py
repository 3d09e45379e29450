"""Every string the console shows is in both message catalogues, translated.

Messages are extracted from the templates (jinja2.ext.i18n) and the console's code (`_`,
`gettext`, `ngettext`, `N_`) exactly as Babel would for a translator; a message missing
from `console/locale/{en,cy}/LC_MESSAGES/messages.po`, or present but untranslated (or
fuzzy), fails the test and names it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from console.i18n import HERE, KEYWORDS, catalogue_path, environment, gettext, translations
from console.labels import AUTHORITIES
from schemas.organisations import local_authority_codes, organisation

METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}


def extracted() -> dict[str | tuple[str, ...], str]:
    """Each message id (a tuple for plurals) with where it was found."""
    found: dict[str | tuple[str, ...], str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(HERE), METHODS, OPTIONS, keywords=KEYWORDS
    ):
        found.setdefault(message, f"{filename}:{lineno}")
    return found


def test_extraction_finds_the_templates_and_the_code() -> None:
    messages = extracted()

    assert "Worklist" in messages  # a template
    assert "Possible match needs review" in messages  # console/labels.py
    assert ("%(num)d case", "%(num)d cases") in messages  # a plural
    assert len(messages) > 150


@pytest.mark.parametrize("language", ["en", "cy"])
def test_every_message_is_translated(language: str) -> None:
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    problems = []
    for message, where in extracted().items():
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalogue.get(msgid)
        if entry is None:
            problems.append(f"missing {msgid!r} ({where})")
        elif (
            entry.fuzzy
            or not entry.string
            or (
                isinstance(entry.string, tuple)
                and (len(entry.string) != catalogue.num_plurals or not all(entry.string))
            )
        ):
            problems.append(f"untranslated {msgid!r} ({where})")

    assert problems == []


def test_welsh_has_its_six_plural_forms() -> None:
    welsh = translations("cy")
    with catalogue_path("cy").open("rb") as po:
        catalogue = read_po(po, locale="cy")

    def days_ago(n: int) -> str:
        return welsh.ngettext("%(num)d day ago", "%(num)d days ago", n) % {"num": n}

    assert catalogue.num_plurals == 6
    assert days_ago(1) == "1 diwrnod yn ôl"
    assert days_ago(2) == "2 ddiwrnod yn ôl"  # the soft mutation after "dau"
    assert days_ago(7) == "7 diwrnod yn ôl"
    assert welsh.ngettext("%(num)d case", "%(num)d cases", 0) == "Dim achosion"
    assert (
        translations("en").ngettext("%(num)d day ago", "%(num)d days ago", 2) == "%(num)d days ago"
    )


def test_dates_are_written_as_each_language_writes_them() -> None:
    day = date(2026, 12, 6)

    assert environment("cy").filters["date"](day) == "6 Rhagfyr 2026"
    assert environment("en").filters["date"](day) == "6 December 2026"
    assert gettext("cy", "Sign in") == "Mewngofnodi"
    winter = datetime(2026, 12, 6, 14, 5, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 14, 5, tzinfo=UTC)  # shown on the clock in Wales: BST
    assert environment("cy").filters["datetime"](winter) == "6 Rhagfyr 2026, 14:05"
    assert environment("en").filters["datetime"](summer) == "1 July 2026, 15:05"


def test_every_authority_is_named_in_both_languages() -> None:
    assert {
        code: organisation(code).name  # type: ignore[union-attr]
        for code in local_authority_codes()
    } == AUTHORITIES
    assert gettext("cy", AUTHORITIES["W06000011"]) == "Abertawe"
    welsh_page = environment("cy").from_string("{{ authority('W06000015') }}")
    assert welsh_page.render() == "Caerdydd"
    assert environment("en").from_string("{{ authority('england') }}").render() == "england"
