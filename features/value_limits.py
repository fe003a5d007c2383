"""The values every engine can represent, as pydantic types for the API and checks for loaders.

Times are computed as int64 nanoseconds since the epoch (numpy/pandas ``datetime64[ns]``), which
ends on 2262-04-11; before 1900 no CRM record is real. A time outside that range would overflow
deep in a feature kernel, so it is refused where it enters, naming the field. Year 9999 gets its
own message: CRMs write ``9999-12-31`` for "never" (a deal that never closed, a lead that never
converted), which the API spells as an empty field.

Numbers reach the model as float64: NaN and infinities are refused (JSON has no such numbers;
some parsers accept ``NaN``/``Infinity`` anyway), and so are integers too large for a float64.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, WithJsonSchema

FIRST_SUPPORTED = datetime(1900, 1, 1, tzinfo=UTC)
LAST_SUPPORTED = datetime(2262, 4, 10, tzinfo=UTC)  # a day short of int64 ns' end: offsets fit
NEVER_YEAR = 9999
LARGEST_NUMBER = 1.7976931348623157e308  # float64's largest finite value


def time_problem(value: datetime) -> str | None:
    """Why an aware time cannot be used, or None when it can."""
    if value.year == NEVER_YEAR:
        return (
            "year 9999 is a CRM 'never' date: leave the field empty (null) instead "
            f"(supported times: {FIRST_SUPPORTED:%Y-%m-%d} to {LAST_SUPPORTED:%Y-%m-%d})"
        )
    # Compared as aware times: converting year 1 or 9999 to UTC first may overflow.
    if not FIRST_SUPPORTED <= value < LAST_SUPPORTED:
        return (
            f"outside the supported range {FIRST_SUPPORTED:%Y-%m-%d} to "
            f"{LAST_SUPPORTED:%Y-%m-%d} (UTC)"
        )
    return None


def _check_time(value: datetime) -> datetime:
    problem = time_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _check_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int):
        if abs(value) > LARGEST_NUMBER:
            raise ValueError("too large: numbers are read as float64 (at most about 1.8e308)")
        return value
    if not math.isfinite(value):
        raise ValueError("expected a finite number, not NaN or an infinity")
    return value


_TIME_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "description": f"ISO 8601 with a zone, between {FIRST_SUPPORTED:%Y-%m-%d} and "
    f"{LAST_SUPPORTED:%Y-%m-%d} (UTC).",
}

# An aware time the engines can represent (see the module docstring).
SupportedTime = Annotated[
    AwareDatetime, AfterValidator(_check_time), WithJsonSchema(_TIME_SCHEMA, mode="validation")
]
# A number the model can represent: finite and within float64.
FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]
# An attribute value: text, a number the model can represent, a boolean or empty.
AttributeScalar = Annotated[str | int | float | bool | None, AfterValidator(_check_number)]
