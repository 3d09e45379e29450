"""Compulsory school age: start, end and the boundaries around them."""

from datetime import date, timedelta

import pytest

from schemas.school_age import (
    compulsory_school_age_birth_dates,
    compulsory_school_age_end,
    compulsory_school_age_start,
    is_compulsory_school_age,
)


@pytest.mark.parametrize(
    ("date_of_birth", "start"),
    [
        (date(2015, 3, 2), date(2020, 3, 31)),
        (date(2015, 1, 1), date(2020, 3, 31)),
        (date(2015, 3, 31), date(2020, 3, 31)),  # fifth birthday on a prescribed day
        (date(2015, 4, 1), date(2020, 8, 31)),
        (date(2015, 8, 31), date(2020, 8, 31)),
        (date(2015, 9, 1), date(2020, 12, 31)),
        (date(2015, 12, 31), date(2020, 12, 31)),
        (date(2016, 1, 1), date(2021, 3, 31)),
        (date(2016, 2, 29), date(2021, 3, 31)),  # 5 on 1 March 2021
        (date(2019, 2, 28), date(2024, 3, 31)),
        (date(2012, 2, 29), date(2017, 3, 31)),
        (date(2020, 2, 29), date(2025, 3, 31)),
    ],
)
def test_start(date_of_birth: date, start: date) -> None:
    assert compulsory_school_age_start(date_of_birth) == start


@pytest.mark.parametrize(
    ("date_of_birth", "end"),
    [
        # 16 on 1 Sep 2025, in the school year 2025-26: leaves on Friday 26 June 2026.
        (date(2009, 9, 1), date(2026, 6, 26)),
        # 16 on 31 Aug 2025, the last day of the school year 2024-25: Friday 27 June 2025.
        (date(2009, 8, 31), date(2025, 6, 27)),
        (date(2010, 6, 27), date(2026, 6, 26)),  # turns 16 the day after leaving
        (date(2010, 6, 26), date(2026, 6, 26)),  # turns 16 on the leaving date
        (date(2010, 1, 1), date(2026, 6, 26)),
        (date(2000, 2, 29), date(2016, 6, 24)),  # 30 June 2016 was a Thursday
        (date(2004, 2, 29), date(2020, 6, 26)),
        (date(2008, 7, 1), date(2024, 6, 28)),
        (date(2011, 6, 30), date(2027, 6, 25)),
        (date(2014, 12, 25), date(2031, 6, 27)),  # 30 June 2031 is a Monday
        (date(1999, 9, 30), date(2016, 6, 24)),  # 16 in September 2015: school year 2015-16
    ],
)
def test_end(date_of_birth: date, end: date) -> None:
    assert compulsory_school_age_end(date_of_birth) == end
    assert end.weekday() == 4  # a Friday
    assert end.month == 6
    assert end + timedelta(days=7) > date(end.year, 6, 30)  # the last one in June


@pytest.mark.parametrize(
    ("date_of_birth", "on", "expected"),
    [
        (date(2015, 9, 1), date(2020, 12, 30), False),  # day before the start
        (date(2015, 9, 1), date(2020, 12, 31), True),  # the start
        (date(2015, 8, 31), date(2020, 8, 30), False),  # birthday on 31 Aug: starts that day
        (date(2015, 8, 31), date(2020, 8, 31), True),
        (date(2009, 9, 1), date(2026, 6, 26), True),  # the end
        (date(2009, 9, 1), date(2026, 6, 27), False),  # day after the end
        (date(2009, 8, 31), date(2025, 6, 27), True),
        (date(2009, 8, 31), date(2025, 6, 28), False),  # still 15, yet past school age
        (date(2016, 2, 29), date(2021, 3, 30), False),  # 29 Feb births, common year
        (date(2016, 2, 29), date(2021, 3, 31), True),
        (date(2020, 2, 29), date(2025, 3, 30), False),
        (date(2020, 2, 29), date(2025, 3, 31), True),
        (date(2015, 3, 2), date(2026, 1, 15), True),
    ],
)
def test_is_compulsory_school_age(date_of_birth: date, on: date, expected: bool) -> None:
    assert is_compulsory_school_age(date_of_birth, on) is expected


@pytest.mark.parametrize(
    ("on", "earliest", "latest"),
    [
        (date(2026, 1, 15), date(2009, 9, 1), date(2020, 12, 31)),
        (date(2025, 6, 27), date(2008, 9, 1), date(2020, 3, 31)),
        (date(2025, 6, 28), date(2009, 9, 1), date(2020, 3, 31)),
        (date(2024, 8, 31), date(2008, 9, 1), date(2019, 8, 31)),
    ],
)
def test_birth_date_range(on: date, earliest: date, latest: date) -> None:
    assert compulsory_school_age_birth_dates(on) == (earliest, latest)


@pytest.mark.parametrize("on", [date(2026, 1, 15), date(2024, 2, 29), date(2025, 8, 31)])
def test_birth_date_range_agrees_with_the_rule_day_by_day(on: date) -> None:
    earliest, latest = compulsory_school_age_birth_dates(on)
    first = earliest - timedelta(days=400)
    for offset in range((latest - first).days + 400):
        date_of_birth = first + timedelta(days=offset)
        in_range = earliest <= date_of_birth <= latest
        assert is_compulsory_school_age(date_of_birth, on) is in_range, date_of_birth
