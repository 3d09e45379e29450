"""Given names and surnames of synthetic Welsh children.

The weights are rough relative frequencies, chosen so that the few very common Welsh
surnames dominate as they do in Wales (which is what makes matching on names hard). They are
illustrative, not official statistics. All strings are NFC, like the names on the wire.
"""

from random import Random
from typing import Final

from services.synthetic.sampling import WeightedChoice

WELSH_GIVEN_NAMES_F: Final = WeightedChoice(
    {
        "Ffion": 8, "Elin": 8, "Cerys": 7, "Catrin": 6, "Mali": 8, "Nia": 5, "Bethan": 4,
        "Gwenllïan": 2, "Seren": 7, "Megan": 6, "Lowri": 5, "Alaw": 3, "Eira": 3, "Heledd": 2,
        "Siân": 2, "Anwen": 2, "Efa": 5, "Nansi": 3, "Lili": 4, "Tegan": 3, "Begw": 1,
        "Mererid": 1, "Llio": 2, "Gwenno": 3,
    }
)  # fmt: skip
ENGLISH_GIVEN_NAMES_F: Final = WeightedChoice(
    {
        "Olivia": 9, "Amelia": 8, "Isla": 7, "Ava": 7, "Lily": 7, "Freya": 6, "Grace": 6,
        "Sophie": 5, "Emily": 6, "Ruby": 5, "Poppy": 5, "Evie": 5, "Ella": 5, "Chloe": 4,
        "Zoë": 2, "Aisha": 2, "Maja": 1,
    }
)  # fmt: skip
WELSH_GIVEN_NAMES_M: Final = WeightedChoice(
    {
        "Siôn": 4, "Rhodri": 3, "Llŷr": 2, "Dafydd": 6, "Tomos": 6, "Aneurin": 1, "Osian": 7,
        "Gruffudd": 4, "Iestyn": 3, "Cai": 5, "Ifan": 6, "Rhys": 7, "Dylan": 7, "Owain": 5,
        "Gethin": 4, "Ioan": 5, "Steffan": 3, "Guto": 3, "Tudur": 1, "Emrys": 2, "Gwion": 3,
        "Elis": 4, "Macsen": 3, "Harri": 4,
    }
)  # fmt: skip
ENGLISH_GIVEN_NAMES_M: Final = WeightedChoice(
    {
        "Oliver": 9, "Noah": 8, "George": 7, "Jack": 7, "Harry": 7, "Leo": 6, "Oscar": 6,
        "Charlie": 6, "Jacob": 5, "Thomas": 5, "Alfie": 5, "Freddie": 5, "Theo": 5, "Mason": 4,
        "Mohammed": 3, "Zain": 1, "Jakub": 1, "Rónán": 1,
    }
)  # fmt: skip
MIDDLE_NAMES_F: Final = WeightedChoice(
    {"Mair": 6, "Haf": 5, "Elen": 4, "Angharad": 2, "Grace": 4, "Rose": 4, "Mai": 3, "Wyn": 2,
     "Louise": 2, "Medi": 2}
)  # fmt: skip
MIDDLE_NAMES_M: Final = WeightedChoice(
    {"Wyn": 6, "Glyn": 3, "Llywelyn": 3, "James": 5, "John": 4, "Rhys": 3, "Elis": 3,
     "Huw": 3, "Alexander": 2, "Prys": 2}
)  # fmt: skip

SURNAMES: Final = WeightedChoice(
    {
        # The commonest Welsh surnames, which on their own cover about a third of Wales.
        "Jones": 58, "Williams": 38, "Davies": 36, "Evans": 25, "Thomas": 22, "Roberts": 15,
        "Hughes": 13, "Lewis": 13, "Morgan": 11, "Griffiths": 10, "Price": 7, "Rees": 7,
        "Owen": 7, "Jenkins": 6, "Lloyd": 6, "Phillips": 6, "Edwards": 6, "James": 6,
        "Powell": 4, "Pritchard": 3, "Parry": 4, "Bowen": 3, "Pugh": 2, "Vaughan": 2,
        "Howells": 2, "Prosser": 1, "Gwynne": 1, "ap Gruffudd": 1, "ap Rhys": 1,
        # Common English and other surnames.
        "Smith": 12, "Taylor": 7, "Brown": 6, "Walker": 4, "Wilson": 4, "Clarke": 3,
        "Harris": 4, "Wright": 3, "Khan": 2, "Ali": 2, "Kowalski": 1, "O'Brien": 2,
        # Double-barrelled names, a classic source of linkage errors.
        "Jones-Pritchard": 1, "Lloyd-Williams": 1, "Powell-Davies": 1, "Morgan-Rees": 1,
        "Evans-Smith": 1,
    }
)  # fmt: skip


def pick_given_name(rng: Random, *, sex: str, welsh: bool) -> str:
    """A given name for a child of this sex; U and Z draw from either list."""
    if sex not in ("F", "M"):
        sex = "F" if rng.random() < 0.5 else "M"
    if sex == "F":
        return (WELSH_GIVEN_NAMES_F if welsh else ENGLISH_GIVEN_NAMES_F).pick(rng)
    return (WELSH_GIVEN_NAMES_M if welsh else ENGLISH_GIVEN_NAMES_M).pick(rng)


def pick_middle_names(rng: Random, *, sex: str) -> str | None:
    """None for about half of children, otherwise one or occasionally two middle names."""
    roll = rng.random()
    if roll < 0.55:
        return None
    pool = MIDDLE_NAMES_F if sex == "F" else MIDDLE_NAMES_M
    first = pool.pick(rng)
    if roll < 0.92:
        return first
    second = pool.pick(rng)
    return first if second == first else f"{first} {second}"


def pick_former_names(rng: Random, *, given_name: str, family_name: str) -> list[dict[str, str]]:
    """Mostly none; a few children were known by another surname (a parent's, before a
    change of family circumstances)."""
    if rng.random() >= 0.03:
        return []
    former_family_name = SURNAMES.pick(rng)
    if former_family_name == family_name:
        return []
    return [{"given_name": given_name, "family_name": former_family_name}]
