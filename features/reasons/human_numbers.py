"""Numbers and durations as a salesperson reads them: "50 M", "3 days ago", "twice".

Every number shown in a reason goes through here: at most three significant digits, never
scientific notation, thousands as k / M / B / T, durations in the unit a person would use.
Days are whole 24-hour periods before the scoring time, so an event 20 hours before ``as_of``
happened "today" and one 30 hours before "yesterday".
"""

from __future__ import annotations

import math

_SUFFIXES = (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3))
_TINY = 0.001  # below this a value reads as "about 0": three digits of 0.0000014 say nothing
_DAYS_PER_MONTH = 365.25 / 12
_DAYS_PER_YEAR = 365.25


def format_number(value: float) -> str:
    """``50000000 -> "50 M"``, ``1234 -> "1.23 k"``, ``0.01234 -> "0.0123"``, ``3.0 -> "3"``."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    magnitude = abs(float(value))
    if magnitude < _TINY:
        return "about 0"
    rounded = float(f"{magnitude:.3g}")  # three significant digits first: 999.7 -> 1000
    for suffix, scale in _SUFFIXES:
        if rounded >= scale:
            return f"{sign}{_positional(rounded / scale)} {suffix}"
    return sign + _positional(rounded)


def _positional(value: float) -> str:
    """A value already rounded to three significant digits, in plain positional notation."""
    decimals = max(0, 2 - math.floor(math.log10(value)))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_times(count: float) -> str:
    """``1 -> "once"``, ``2 -> "twice"``, ``7 -> "7 times"``."""
    if count == 1:
        return "once"
    if count == 2:
        return "twice"
    return f"{format_number(count)} times"


def format_plural(count: float, noun: str) -> str:
    """``(1, "day") -> "1 day"``, ``(3, "day") -> "3 days"``; ``"person|people"`` names an
    irregular plural."""
    singular, _, plural = noun.partition("|")
    if count == 1:
        return f"1 {singular}"
    return f"{format_number(count)} {plural or _regular_plural(singular)}"


def _regular_plural(noun: str) -> str:
    # "'web_visit' event" -> "'web_visit' events": the plural goes on the last word.
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def format_ago(days: float) -> str:
    """How long before the scoring time: "today", "yesterday", "3 days ago", "5 weeks ago",
    "4 months ago", "2 years ago"."""
    if days < 1:
        return "today"
    if days < 2:
        return "yesterday"
    return f"{format_span(days)} ago"


def format_span(days: float) -> str:
    """A duration in days: "3 days", "5 weeks", "4 months", "2 years" (at least "1 day")."""
    days = max(float(days), 1.0)
    if days < 14:
        return format_plural(math.floor(days), "day")
    if days < 56:
        return format_plural(math.floor(days / 7), "week")
    if days < _DAYS_PER_YEAR:
        return format_plural(max(2, round(days / _DAYS_PER_MONTH)), "month")
    return format_plural(max(1, round(days / _DAYS_PER_YEAR)), "year")


def format_percent(fraction: float) -> str:
    """A fraction as a percentage: ``0.333 -> "33.3 %"``."""
    return f"{format_number(100.0 * fraction)} %"


def format_text(value: object) -> str:
    """A CRM code as words: ``"organic_search" -> "organic search"``."""
    return str(value).replace("_", " ").strip()
