"""What a salesperson should never read: numbers with more than three significant digits, or
in scientific notation."""

from __future__ import annotations

import re

# Every number in a text: digits with their decimal point and thousands separators. Dates and
# a category's ranges are not numbers here: their digits are joined by dashes ("2026-03-01",
# "201-1000") or end in a plus ("5000+").
NUMBER = re.compile(r"(?<![\w-])\d[\d.,]*(?![\w+-])")
EXPONENT = re.compile(r"\d(?:\.\d+)?e[-+]?\d+", re.IGNORECASE)


def unreadable_numbers(text: str) -> list[str]:
    """The numbers in ``text`` with more than three significant digits or an exponent."""
    found = EXPONENT.findall(text)
    for token in NUMBER.findall(text):
        token = token.rstrip(".,")
        if len(re.sub(r"\D", "", token).lstrip("0")) > 3:
            found.append(token)
    return found
