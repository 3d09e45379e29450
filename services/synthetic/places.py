"""The 22 Welsh local authorities as places where synthetic children live.

Postcode districts and localities are plausible for each area rather than a gazetteer: good
enough that a postcode looks as if it belongs to its authority. Population weights are rough
resident populations in thousands, used only to spread records as Wales is spread.
`welsh_share` loosely follows how Welsh-speaking an area is; it steers street and given
names so that name distributions differ between the north-west and the south-east.
"""

from dataclasses import dataclass
from random import Random
from typing import Any, Final

from services.synthetic.sampling import WeightedChoice


@dataclass(frozen=True)
class LocalAuthorityArea:
    gss_code: str
    name: str
    lhb_code: str
    population_weight: int
    welsh_share: float
    postcode_districts: tuple[str, ...]
    localities: tuple[str, ...]


def _districts(area: str, numbers: range | tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"{area}{number}" for number in numbers)


def _area(
    gss_code: str,
    name: str,
    lhb_code: str,
    population_weight: int,
    welsh_share: float,
    postcode_districts: tuple[str, ...],
    localities: str,
) -> LocalAuthorityArea:
    return LocalAuthorityArea(
        gss_code, name, lhb_code, population_weight, welsh_share, postcode_districts,
        tuple(localities.split(", ")),
    )  # fmt: skip


LOCAL_AUTHORITY_AREAS: Final[dict[str, LocalAuthorityArea]] = {
    area.gss_code: area
    for area in (
        _area("W06000001", "Isle of Anglesey", "7A1", 69, 0.55, _districts("LL", range(58, 79)),
              "Llangefni, Caergybi, Amlwch, Porthaethwy, Biwmares"),
        _area("W06000002", "Gwynedd", "7A1", 117, 0.65, _districts("LL", range(35, 58)),
              "Caernarfon, Bangor, Pwllheli, Dolgellau, Y Bala, Porthmadog"),
        _area("W06000003", "Conwy", "7A1", 114, 0.3, _districts("LL", (22, *range(24, 35))),
              "Llandudno, Bae Colwyn, Abergele, Llanrwst, Conwy"),
        _area("W06000004", "Denbighshire", "7A1", 96, 0.25, _districts("LL", range(15, 22)),
              "Rhyl, Prestatyn, Dinbych, Rhuthun, Llangollen"),
        _area("W06000005", "Flintshire", "7A1", 155, 0.12, _districts("CH", range(4, 9)),
              "Mold, Flint, Holywell, Buckley, Connah's Quay"),
        _area("W06000006", "Wrexham", "7A1", 135, 0.12, _districts("LL", range(11, 15)),
              "Wrexham, Rhosllanerchrugog, Gresford, Chirk, Gwersyllt"),
        _area("W06000008", "Ceredigion", "7A2", 71, 0.45,
              _districts("SY", range(23, 26)) + _districts("SA", range(43, 49)),
              "Aberystwyth, Aberteifi, Llanbedr Pont Steffan, Aberaeron, Tregaron"),
        _area("W06000009", "Pembrokeshire", "7A2", 123, 0.2, _districts("SA", range(61, 74)),
              "Haverfordwest, Milford Haven, Pembroke Dock, Tenby, Abergwaun"),
        _area("W06000010", "Carmarthenshire", "7A2", 187, 0.4,
              _districts("SA", (*range(14, 21), *range(31, 35))),
              "Llanelli, Caerfyrddin, Rhydaman, Llandeilo, Porth Tywyn"),
        _area("W06000011", "Swansea", "7A3", 238, 0.15, _districts("SA", range(1, 8)),
              "Sgeti, Treforys, Gorseinon, Townhill, Mumbles, Clydach"),
        _area("W06000012", "Neath Port Talbot", "7A3", 142, 0.18,
              _districts("SA", (8, 10, 11, 12, 13)),
              "Neath, Port Talbot, Pontardawe, Glynneath, Briton Ferry"),
        _area("W06000013", "Bridgend", "7A5", 145, 0.12, _districts("CF", range(31, 36)),
              "Pen-y-bont ar Ogwr, Maesteg, Porthcawl, Pencoed, Pyle"),
        _area("W06000014", "Vale of Glamorgan", "7A4", 132, 0.12,
              _districts("CF", (61, 62, 63, 64, 71)),
              "Barry, Penarth, Llantwit Major, Cowbridge, Dinas Powys"),
        _area("W06000015", "Cardiff", "7A4", 362, 0.12,
              _districts("CF", (3, 5, 10, 11, 14, 15, 23, 24)),
              "Treganna, Grangetown, Splott, Llanisien, Pentwyn, Trelái, Y Rhath"),
        _area("W06000016", "Rhondda Cynon Taf", "7A5", 237, 0.12,
              _districts("CF", (*range(37, 46), 72)),
              "Pontypridd, Aberdâr, Tonypandy, Porth, Treorci, Aberpennar, Llantrisant"),
        _area("W06000018", "Caerphilly", "7A6", 175, 0.1,
              _districts("CF", (81, 82, 83)) + _districts("NP", (11, 12)),
              "Caerffili, Blackwood, Bargoed, Ystrad Mynach, Risca"),
        _area("W06000019", "Blaenau Gwent", "7A6", 67, 0.08, _districts("NP", (13, 22, 23)),
              "Glynebwy, Tredegar, Abertyleri, Brynmawr"),
        _area("W06000020", "Torfaen", "7A6", 92, 0.08, _districts("NP", (4, 44)),
              "Pont-y-pŵl, Cwmbrân, Blaenafon"),
        _area("W06000021", "Monmouthshire", "7A6", 93, 0.08,
              _districts("NP", (7, 15, 16, 25, 26)),
              "Y Fenni, Trefynwy, Cas-gwent, Caldicot, Brynbuga"),
        _area("W06000022", "Newport", "7A6", 159, 0.08, _districts("NP", (10, 18, 19, 20)),
              "Casnewydd, Caerllion, Bettws, Maindee, Rogerstone"),
        _area("W06000023", "Powys", "7A7", 133, 0.2,
              _districts("LD", range(1, 9)) + _districts("SY", range(15, 23)),
              "Y Drenewydd, Y Trallwng, Aberhonddu, Llandrindod, Ystradgynlais, Machynlleth"),
        _area("W06000024", "Merthyr Tydfil", "7A5", 58, 0.1, _districts("CF", (46, 47, 48)),
              "Merthyr Tudful, Dowlais, Treharris, Troed-y-rhiw"),
    )
}  # fmt: skip

WELSH_STREETS: Final = (
    "Heol y Bont", "Ffordd yr Eglwys", "Stryd Fawr", "Lôn Goed", "Heol Tŷ Gwyn",
    "Maes y Coed", "Cae Glas", "Bryn Awel", "Ffordd y Môr", "Heol yr Ysgol",
    "Rhodfa'r Castell", "Clos y Wern", "Lôn Fach", "Heol Pen-y-bryn", "Tan y Bryn",
    "Stryd y Capel", "Ffordd Glyndŵr", "Maes yr Haf",
)  # fmt: skip
ENGLISH_STREETS: Final = (
    "Station Road", "High Street", "Church Street", "Park Road", "Victoria Road",
    "Mill Lane", "Chapel Street", "Queen Street", "Castle Street", "Bridge Street",
    "Windsor Road", "Heathfield Avenue", "Orchard Close", "Meadow View", "The Crescent",
)  # fmt: skip
# Inward-code letters in real use: C, I, K, M, O and V never appear there.
_INWARD_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"


def local_authority_codes(lhb_code: str | None = None) -> tuple[str, ...]:
    """GSS codes of every Welsh LA, or of those a health board covers."""
    return tuple(
        area.gss_code
        for area in LOCAL_AUTHORITY_AREAS.values()
        if lhb_code is None or area.lhb_code == lhb_code
    )


def area_weights(la_codes: tuple[str, ...]) -> WeightedChoice[LocalAuthorityArea]:
    """Draws among these LAs in proportion to their population."""
    unknown = sorted(set(la_codes) - LOCAL_AUTHORITY_AREAS.keys())
    if unknown or not la_codes:
        raise ValueError(f"expected Welsh LA GSS codes, unknown: {unknown}")
    areas = [LOCAL_AUTHORITY_AREAS[code] for code in la_codes]
    return WeightedChoice({area: area.population_weight for area in areas})


def gp_practice_codes(area: LocalAuthorityArea) -> tuple[str, ...]:
    """Thirty made-up NHS Wales practice codes (W9....) per LA, distinct between LAs."""
    block = list(LOCAL_AUTHORITY_AREAS).index(area.gss_code) + 10
    return tuple(f"W9{block:02d}{practice:02d}" for practice in range(1, 31))


def pick_postcode(rng: Random, area: LocalAuthorityArea) -> str:
    """A canonical postcode (`CF11 9AB`) in one of the area's districts."""
    district = rng.choice(area.postcode_districts)
    sector = rng.randrange(10)
    unit = rng.choice(_INWARD_LETTERS) + rng.choice(_INWARD_LETTERS)
    return f"{district} {sector}{unit}"


def pick_address(rng: Random, area: LocalAuthorityArea) -> dict[str, Any]:
    """An address in the SPEC shape; a few are flats and a few only a last known address."""
    streets = WELSH_STREETS if rng.random() < area.welsh_share else ENGLISH_STREETS
    lines = [f"{rng.randrange(1, 160)} {rng.choice(streets)}", rng.choice(area.localities)]
    if rng.random() < 0.08:
        lines.insert(0, f"Flat {rng.randrange(1, 25)}")
    return {
        "lines": lines,
        "postcode": pick_postcode(rng, area),
        "last_known": rng.random() < 0.03,
    }
