"""Name normalisation and the Welsh/English name equivalents the linkage model relies on.

A child registered with a GP as "Dafydd" is often "David" or "Dai" on a school roll, and
"Siân" arrives as "Sian" from any system that drops diacritics. Each group below holds
forms that refer to the same given name; a name's canonical key is its group's first
member, so comparing keys answers "are these the same name in another form?".
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# Kept small and reviewable: only variants a registrar or a school would plausibly record
# for the same child. Diacritics are folded before lookup, so "siôn" is listed as "sion".
_EQUIVALENT_GIVEN_NAMES: tuple[tuple[str, ...], ...] = (
    ("david", "dafydd", "dai", "dave", "davey", "davy", "dewi", "deio"),
    ("john", "sion", "ioan", "jon", "johnny", "jonny", "jack", "sean", "shaun", "shane"),
    ("griffith", "gruffudd", "gruffydd", "griff", "gruff", "guto"),
    ("rhys", "rees", "reece", "reese", "rhydian"),
    ("evan", "ieuan", "ifan", "iwan", "ianto"),
    ("hugh", "huw", "hughie"),
    ("llywelyn", "llewelyn", "llewellyn", "llew", "llywel"),
    ("william", "gwilym", "wil", "will", "bill", "billy", "liam", "willie", "gwil"),
    ("jane", "sian", "jayne", "janey"),
    ("janet", "sioned"),
    (
        "catherine",
        "catrin",
        "katherine",
        "kathryn",
        "catherin",
        "kate",
        "katie",
        "cath",
        "cathy",
        "caitlin",
        "cadi",
    ),
    ("ellen", "elin", "elen", "helen", "ellie", "nell", "nellie"),
    ("margaret", "mared", "marged", "megan", "meg", "maggie", "peggy", "mali"),
    ("thomas", "tomos", "tom", "tommy", "twm"),
    ("ivor", "ifor"),
    ("owen", "owain"),
    ("joan", "siwan"),
    ("mary", "mair", "molly", "polly"),
    ("elizabeth", "elisabeth", "beth", "bethan", "liz", "lizzie", "lisa", "betsan", "libby"),
    ("justin", "iestyn"),
    ("stephen", "steffan", "steven", "steve", "stevie"),
    ("peter", "pedr", "pete"),
    ("matthew", "mathew", "mathau", "matt", "matty"),
    ("richard", "rhisiart", "rich", "richie", "rick", "dick"),
    ("robert", "robat", "rob", "robbie", "bob", "bobby"),
    ("edward", "iorwerth", "ed", "eddie", "ned", "teddy"),
    ("henry", "harri", "harry", "hal"),
    ("charles", "siarl", "charlie", "chas"),
    ("james", "iago", "jim", "jimmy", "jamie"),
    ("michael", "mihangel", "mike", "mikey", "mick"),
    ("samuel", "sam", "sammy"),
    ("benjamin", "ben", "benji", "benny"),
    ("daniel", "dan", "danny"),
    ("joseph", "joe", "joey", "jo"),
    ("christopher", "chris", "kit"),
    ("nicholas", "nick", "nicky"),
    ("alexander", "alex", "alec", "sandy"),
    ("alice", "alys"),
    ("agnes", "nest", "nesta"),
    ("gwenllian", "gwen"),
    ("anne", "ann", "annie", "anna", "nan"),
    ("rebecca", "becky", "becca"),
    ("jennifer", "jenny", "jen"),
    ("abigail", "abbie", "abby", "abi"),
    ("isabella", "isabel", "isabelle", "bella", "izzy", "issy"),
    ("oliver", "ollie", "olly"),
    ("joshua", "josh"),
    ("jacob", "jake"),
)

_NON_LETTERS = re.compile(r"[^a-z]+")


def fold(text: str) -> str:
    """Lower-case, strip diacritics (â -> a, ŵ -> w) and drop apostrophes (O'Brien)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.replace("'", "").replace("\u2019", "")


def name_tokens(text: str | None) -> tuple[str, ...]:
    """Folded name words: hyphens and spaces both split a double-barrelled name."""
    if not text:
        return ()
    return tuple(t for t in _NON_LETTERS.split(fold(text)) if t)


def standard_name(text: str | None) -> str | None:
    """One comparable form of a whole name, so "Jones-Williams" equals "jones williams"."""
    tokens = name_tokens(text)
    return " ".join(tokens) if tokens else None


@cache
def _canonical_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for group in _EQUIVALENT_GIVEN_NAMES:
        for variant in group:
            # A variant listed twice would silently join two groups; refuse instead.
            if variant in index:
                raise ValueError(f"given-name variant listed in two groups: {variant}")
            index[variant] = group[0]
    return index


def canonical_given_name(token: str | None) -> str | None:
    """The group key of a folded given-name token, or the token itself if it has none."""
    if not token:
        return None
    return _canonical_index().get(token, token)
