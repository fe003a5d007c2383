"""A time-ordered static lead export with drift: what a CRM export without timestamps looks
like when its rows are in creation order (a running lead number, sources that come and go, a
sales process that changes over two years). Made here, so no real export is downloaded."""

from __future__ import annotations

import numpy as np
import pandas as pd

ATTRIBUTES = {
    "Lead Number": "numeric",
    "Source": "categorical",
    "Company Size": "categorical",
    "Country": "categorical",
    "Seniority": "categorical",
    "Total Visits": "numeric",
    "Minutes On Site": "numeric",
    "Pages Per Visit": "numeric",
    "Attended Webinar": "boolean",
}


def time_ordered_export(n: int = 8000, seed: int = 7) -> pd.DataFrame:
    """One row per lead in creation order, label ``Converted``."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 1, n))  # position in two years
    created = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(t * 730, unit="D")
    lead_number = 600_000 + np.arange(n) * 3 + rng.integers(0, 3, n)  # the CRM's counter
    sources = np.array(["organic", "paid_search", "referral", "events", "paid_social"])
    # Paid social arrives in the second year and grows; events all but stop after a year.
    weights = np.stack(
        [
            np.full(n, 0.3), np.full(n, 0.25), np.full(n, 0.15), np.where(t < 0.5, 0.2, 0.02),
            np.where(t > 0.45, 0.05 + 0.4 * (t - 0.45), 0.0),
        ],
        axis=1,
    )  # fmt: skip
    weights /= weights.sum(axis=1, keepdims=True)
    source = sources[(rng.random(n)[:, None] > np.cumsum(weights, axis=1)).sum(axis=1)]
    sizes = ["1-10", "11-50", "51-200", "201-1000", "1000+"]
    size = rng.choice(sizes, n, p=[0.3, 0.3, 0.2, 0.12, 0.08])
    country = rng.choice(
        ["DE", "FR", "UK", "US", "ES", "IT"], n, p=[0.25, 0.15, 0.2, 0.25, 0.1, 0.05]
    )
    levels = ["staff", "manager", "director", "vp", "c_level"]
    seniority = rng.choice(levels, n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    visits = rng.poisson(np.exp(rng.normal(1.0, 0.7, n)))
    minutes = np.round(visits * rng.gamma(2.0, 3.0, n) + rng.exponential(1.0, n), 1)
    pages = np.round(np.where(visits > 0, rng.gamma(2.0, 1.2, n), 0.0), 2)
    webinar = (rng.random(n) < 0.15).astype(int)
    # The second year: the base rate falls, company size matters less, paid social brings
    # curious but unready leads, referrals get better.
    logit = (
        -2.0 - 1.0 * t + 0.45 * np.log1p(minutes) + 0.15 * np.log1p(visits) + 0.6 * webinar
        + np.select([seniority == "director", seniority == "vp", seniority == "c_level"],
                    [0.3, 0.5, 0.6], 0.0)
        + np.select([size == "51-200", size == "201-1000", size == "1000+"], [0.4, 0.7, 0.8], 0.0)
        * (1.2 - t)
        + np.select([source == "referral", source == "events", source == "paid_social"],
                    [0.3 + 0.6 * t, 0.5, -0.2 - 0.8 * t], 0.0)
        + 0.4 * (country == "DE") - 0.3 * (country == "IT")
    )  # fmt: skip
    converted = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "Lead ID": [f"L{i:06d}" for i in range(n)],
            "Lead Number": lead_number,
            "Created": created.strftime("%Y-%m-%d"),
            "Source": source,
            "Company Size": size,
            "Country": country,
            "Seniority": seniority,
            "Total Visits": visits,
            "Minutes On Site": minutes,
            "Pages Per Visit": pages,
            "Attended Webinar": webinar,
            "Converted": converted,
        }
    )
