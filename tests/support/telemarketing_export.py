"""A stranger's export for tests: a telemarketing campaign log like the public bank-marketing
data, generated (never downloaded) so its traps are known.

One row per contacted client, rows in time order over ~30 months, no id and no timestamp
column, ``;``-separated, a yes/no label whose rate climbs from ~7 % to ~30 % over the rows, and
``duration``: the call's length in seconds, known only after the call (it carries the outcome).
The honest attributes' effects drift too (a previous campaign's success counts for less later),
so a random split flatters the model and an out-of-time one does not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
JOBS = ("admin.", "blue-collar", "technician", "services", "management", "retired", "student")


def telemarketing_frame(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """The export as a frame of text columns (as a CSV reader would see it)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    t = np.arange(n) / max(n - 1, 1)  # position in time, 0 .. 1
    job = rng.choice(JOBS, n, p=[0.22, 0.22, 0.17, 0.1, 0.19, 0.05, 0.05])
    age = np.clip(rng.normal(41, 10, n) + np.where(job == "retired", 22, 0), 18, 95).astype(int)
    age = np.where(job == "student", rng.integers(18, 27, n), age)
    contact = rng.choice(["cellular", "telephone", "unknown"], n, p=[0.65, 0.07, 0.28])
    housing = rng.random(n) < 0.55
    loan = rng.random(n) < 0.16
    previous = rng.poisson(0.2 + 0.8 * t)
    poutcome = np.where(
        previous == 0, "unknown", rng.choice(["failure", "other", "success"], n, p=[0.6, 0.2, 0.2])
    )
    campaign = 1 + rng.poisson(1.8, n)
    balance = np.round(rng.lognormal(6.5, 1.3, n) - 300).astype(int)
    logit = (
        -3.4
        + 2.0 * t  # the campaigns get better over time (the label rate climbs)
        + (3.0 - 2.0 * t) * (poutcome == "success")  # and what predicts shifts
        + 1.2 * (contact == "cellular")
        - 1.2 * housing * (1 - t)
        - 0.8 * loan
        + 1.3 * np.isin(job, ["student", "retired"])
        + 0.25 * np.log1p(np.clip(balance, 0, None)) * (1 - t)
        - 0.25 * (campaign - 1)
    )
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    # Clients who buy stay on the line; most who do not hang up early, some chat and say no.
    short = ~y & (rng.random(n) < 0.7)
    duration = np.round(
        np.exp(np.where(short, rng.normal(4.6, 0.55, n), rng.normal(5.7 + 0.3 * y, 0.5, n)))
    )
    month = np.array(MONTHS)[(4 + np.floor(t * 29.99)).astype(int) % 12]
    frame = pd.DataFrame(
        {
            "age": age,
            "job": job,
            "marital": rng.choice(["married", "single", "divorced"], n, p=[0.6, 0.28, 0.12]),
            "education": rng.choice(["primary", "secondary", "tertiary", "unknown"], n),
            "default": np.where(rng.random(n) < 0.02, "yes", "no"),
            "balance": balance,
            "housing": np.where(housing, "yes", "no"),
            "loan": np.where(loan, "yes", "no"),
            "contact": contact,
            "day": rng.integers(1, 29, n),
            "month": month,
            "duration": duration.astype(int),
            "campaign": campaign,
            "pdays": np.where(previous > 0, rng.integers(1, 400, n), -1),
            "previous": previous,
            "poutcome": poutcome,
            "y": np.where(y, "yes", "no"),
        }
    )
    return frame.astype(str)


def write_telemarketing_csv(
    path: Path, n: int = 4000, seed: int = 0, *, sep: str = ";", frame: pd.DataFrame | None = None
) -> Path:
    """Write the export (or a changed ``frame`` of it) as the campaign tool would: ``sep``,
    quoted text, no index."""
    data = telemarketing_frame(n, seed) if frame is None else frame
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data.to_csv(path, sep=sep, index=False)
    return path
