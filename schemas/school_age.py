"""Compulsory school age in Wales, computed from a date of birth, never as "age 5 to 16".

Education Act 1996 s.8, with the prescribed days 31 December, 31 March and 31 August and the
school leaving date (the last Friday in June) that apply in Wales.
"""

import bisect
from datetime import date, timedelta

_FRIDAY = 4  # date.weekday()
# Compulsory school age ends before 17, so this comfortably covers every child of it.
_OLDEST_AGE_IN_DAYS = 18 * 366


def _birthday(date_of_birth: date, age: int) -> date:
    year = date_of_birth.year + age
    if (date_of_birth.month, date_of_birth.day) == (2, 29) and not _is_leap_year(year):
        # In a common year someone born on 29 February attains an age on 1 March.
        return date(year, 3, 1)
    return date_of_birth.replace(year=year)


def _is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _last_friday_in_june(year: int) -> date:
    june_30 = date(year, 6, 30)
    return june_30 - timedelta(days=(june_30.weekday() - _FRIDAY) % 7)


def compulsory_school_age_start(date_of_birth: date) -> date:
    """The first of 31 March, 31 August or 31 December on or after the fifth birthday."""
    fifth_birthday = _birthday(date_of_birth, 5)
    for month in (3, 8):
        prescribed_day = date(fifth_birthday.year, month, 31)
        if prescribed_day >= fifth_birthday:
            return prescribed_day
    return date(fifth_birthday.year, 12, 31)


def compulsory_school_age_end(date_of_birth: date) -> date:
    """The last Friday in June of the school year (1 Sep - 31 Aug) in which the child turns 16.

    A child whose 16th birthday falls in July or August therefore leaves at the end of June,
    a few weeks before turning 16.
    """
    sixteenth_birthday = _birthday(date_of_birth, 16)
    if sixteenth_birthday.month >= 9:
        return _last_friday_in_june(sixteenth_birthday.year + 1)
    return _last_friday_in_june(sixteenth_birthday.year)


def is_compulsory_school_age(date_of_birth: date, on: date) -> bool:
    """True when the child is of compulsory school age on the day `on` (both ends included)."""
    return (
        compulsory_school_age_start(date_of_birth) <= on <= compulsory_school_age_end(date_of_birth)
    )


def compulsory_school_age_birth_dates(on: date) -> tuple[date, date]:
    """The earliest and latest dates of birth (inclusive) of children of compulsory school age
    on the day `on`.

    Start and end both move forward with the date of birth, so the children of compulsory
    school age on any day were born in one unbroken range: a database can select them with
    a date range instead of evaluating the rule row by row.
    """
    candidates = range(max(1, on.toordinal() - _OLDEST_AGE_IN_DAYS), on.toordinal() + 1)
    earliest = bisect.bisect_left(
        candidates, True, key=lambda day: compulsory_school_age_end(date.fromordinal(day)) >= on
    )
    after_latest = bisect.bisect_left(
        candidates, True, key=lambda day: compulsory_school_age_start(date.fromordinal(day)) > on
    )
    return date.fromordinal(candidates[earliest]), date.fromordinal(candidates[after_latest - 1])
