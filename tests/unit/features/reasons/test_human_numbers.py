"""Numbers for humans: at most three significant digits, no scientific notation, plain units."""

from __future__ import annotations

import re

import numpy as np
import pytest

from features.reasons.human_numbers import (
    format_ago,
    format_number,
    format_percent,
    format_plural,
    format_span,
    format_text,
    format_times,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (3.0, "3"),
        (12, "12"),
        (999, "999"),
        (12.345, "12.3"),
        (0.5, "0.5"),
        (0.01234, "0.0123"),
        (1234, "1.23 k"),
        (999.7, "1 k"),
        (12_500, "12.5 k"),
        (999_999, "1 M"),
        (50_000_000, "50 M"),
        (62_712_345.6, "62.7 M"),
        (3e9, "3 B"),
        (4.2e12, "4.2 T"),
        (-0.25, "-0.25"),
        (-1500, "-1.5 k"),
        (1.4e-06, "about 0"),
    ],
)
def test_numbers_read_like_a_person_wrote_them(value: float, text: str) -> None:
    assert format_number(value) == text


def test_no_number_has_more_than_three_significant_digits_or_an_exponent() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [rng.lognormal(0, 8, 3000), -rng.lognormal(0, 8, 1000), rng.integers(0, 10**7, 1000)]
    )
    for value in values:
        text = format_number(float(value))
        assert "e" not in text.lower(), text
        digits = re.sub(r"[^0-9]", "", text).lstrip("0")
        assert len(digits) <= 3, (value, text)


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (0.0, "today"),
        (0.9, "today"),
        (1.2, "yesterday"),
        (2.0, "2 days ago"),
        (13.9, "13 days ago"),
        (14.0, "2 weeks ago"),
        (55.0, "7 weeks ago"),
        (60.0, "2 months ago"),
        (130.0, "4 months ago"),
        (400.0, "1 year ago"),
        (800.0, "2 years ago"),
    ],
)
def test_time_ago(days: float, text: str) -> None:
    assert format_ago(days) == text


def test_spans_counts_and_words() -> None:
    assert format_span(0.2) == "1 day"
    assert format_span(120.0) == "4 months"
    assert format_times(1) == "once"
    assert format_times(2) == "twice"
    assert format_times(7.0) == "7 times"
    assert format_plural(1, "day") == "1 day"
    assert format_plural(3.0, "colleague") == "3 colleagues"
    assert format_plural(2, "person|people") == "2 people"
    assert format_plural(2, "'web_visit' event") == "2 'web_visit' events"
    assert format_plural(2, "box") == "2 boxes"
    assert format_percent(0.3333) == "33.3 %"
    assert format_text("organic_search") == "organic search"
