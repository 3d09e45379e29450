"""Welsh and English: the message catalogues, one template environment per language, and
dates and numbers as each language writes them.

The catalogues are the `.po` files under console/locale, read when the console starts
(`babel.messages.pofile.read_po`), so no compiled `.mo` file is kept in the repository.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console.labels import AUTHORITIES

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"
LANGUAGES = ("en", "cy")
DEFAULT_LANGUAGE = "en"
# British English dates ("6 December 2026"), not American.
BABEL_LOCALES = {"en": "en_GB", "cy": "cy_GB"}
# Officers work in Wales: times are shown on the clock on their wall.
LOCAL_TIME = ZoneInfo("Europe/London")
# What Babel extracts (tests/test_console_catalogues.py), and what the pages may call.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> Translations:
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled)


@cache
def environment(language: str) -> Environment:
    """The templates in one language (one environment each: installing translations per
    request on a shared environment would race between threads)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    locale = Locale.parse(BABEL_LOCALES[language])
    env.filters["date"] = lambda value: _date(value, locale)
    env.filters["datetime"] = lambda value: _datetime(value, locale)
    env.globals["authority"] = lambda code: _authority(code, language)
    return env


def _authority(code: str | None, language: str) -> str:
    """An authority's name in the page's language; `england` and unknown codes as given."""
    if code is None:
        return ""
    name = AUTHORITIES.get(code)
    return code if name is None else translations(language).gettext(name)


def _date(value: date | datetime | str | None, locale: Locale) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(LOCAL_TIME).date()
    return format_date(value, format="long", locale=locale)


def _datetime(value: datetime | None, locale: Locale) -> str:
    if value is None:
        return ""
    # The day as the date filter writes it, then the time to the minute.
    return format_datetime(value, "d MMMM y, HH:mm", tzinfo=LOCAL_TIME, locale=locale)


def gettext(language: str, message: str, **values: Any) -> str:
    translated = translations(language).gettext(message)
    return translated % values if values else translated


def chosen_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """`?lang=` first, then the remembered choice, then the browser's preference."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    for part in (accept or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT_LANGUAGE
