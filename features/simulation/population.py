"""Who the simulated leads are: firmographics of their accounts, person attributes, and the
latent rates that fit (and an unobserved account effect) puts on their buying chain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.simulation.simulation_config import SimulationConfig

# (values, probabilities, fit coefficients). Coefficients are log-rate effects on buying.
INDUSTRY = (
    ("software", "financial_services", "healthcare", "manufacturing", "retail", "education",
     "public_sector", "professional_services"),
    (0.22, 0.14, 0.12, 0.14, 0.12, 0.08, 0.06, 0.12),
    (0.6, 0.4, 0.1, 0.2, -0.3, -0.5, -0.6, 0.2),
)  # fmt: skip
COMPANY_SIZE = (
    ("1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+"),
    (0.22, 0.24, 0.22, 0.16, 0.10, 0.06),
    (-0.9, -0.3, 0.3, 0.6, 0.4, 0.1),
)
REVENUE_BY_SIZE = np.array([0.8e6, 5e6, 25e6, 120e6, 600e6, 3e9])
DEAL_BY_SIZE = np.array([3e3, 8e3, 20e3, 45e3, 90e3, 150e3])
COUNTRY = (
    ("US", "GB", "DE", "FR", "CA", "AU", "NL", "IN", "BR", "ES"),
    (0.38, 0.12, 0.10, 0.07, 0.06, 0.05, 0.05, 0.08, 0.05, 0.04),
    (0.2, 0.1, 0.1, 0.0, 0.1, 0.1, 0.1, -0.4, -0.3, -0.1),
)
SENIORITY = (
    ("c_level", "vp", "director", "manager", "individual_contributor"),
    (0.08, 0.10, 0.20, 0.30, 0.32),
    (0.5, 0.6, 0.5, 0.1, -0.4),
)
DEPARTMENT = (
    ("it", "engineering", "marketing", "sales", "finance", "operations", "hr"),
    (0.24, 0.20, 0.18, 0.14, 0.08, 0.10, 0.06),
    (0.4, 0.3, 0.1, 0.0, -0.2, 0.0, -0.6),
)
LEAD_SOURCE = (
    ("organic_search", "paid_search", "webinar", "referral", "event", "content_syndication",
     "outbound", "partner"),
    (0.24, 0.18, 0.10, 0.08, 0.10, 0.12, 0.12, 0.06),
    (0.2, 0.0, 0.3, 0.7, 0.2, -0.5, -0.4, 0.5),
)  # fmt: skip


def choice(rng: np.random.Generator, spec: tuple, n: int) -> tuple[np.ndarray, np.ndarray]:
    values, probs, coefs = spec
    idx = rng.choice(len(values), size=n, p=np.asarray(probs) / np.sum(probs))
    return idx, np.asarray(coefs)[idx]


@dataclass
class People:
    """Attributes and latent rates of one chunk of leads (times in days since start)."""

    n: int
    account: np.ndarray
    created: np.ndarray
    attrs: dict[str, np.ndarray]
    size_idx: np.ndarray
    fit: np.ndarray
    customer: np.ndarray
    a: np.ndarray  # OUT -> IN rate of a lead who receives the emails (campaigns included)
    entry_scale: np.ndarray  # the lead's multiplier of market entry (fit, existing customer)
    b: np.ndarray
    lam: np.ndarray
    mu: np.ndarray
    w: np.ndarray
    engagement: np.ndarray
    bad_address: np.ndarray


def draw_people(config: SimulationConfig, rng: np.random.Generator, n: int, lam0: float) -> People:
    n_accounts = max(1, round(n / config.leads_per_account))
    account = rng.integers(0, n_accounts, size=n)
    # Firmographics belong to the account; person attributes to the lead.
    ind_a, ind_c = choice(rng, INDUSTRY, n_accounts)
    size_a, size_c = choice(rng, COMPANY_SIZE, n_accounts)
    cty_a, cty_c = choice(rng, COUNTRY, n_accounts)
    cust_a = rng.random(n_accounts) < config.customer_share
    rev_a = REVENUE_BY_SIZE[size_a] * rng.lognormal(0.0, 0.6, n_accounts)
    acct_quality = rng.normal(0.0, 0.35, n_accounts)  # unobserved account-level fit
    sen, sen_c = choice(rng, SENIORITY, n)
    dep, dep_c = choice(rng, DEPARTMENT, n)
    src, src_c = choice(rng, LEAD_SOURCE, n)
    customer = cust_a[account]
    fit = (
        ind_c[account] + size_c[account] + cty_c[account] + sen_c + dep_c + src_c
        + 0.6 * customer + acct_quality[account] + rng.normal(0.0, 0.3, n)
    )  # fmt: skip
    engagement = rng.lognormal(0.0, 0.5, n) * np.exp(0.25 * fit)
    revenue = rev_a[account].copy()
    revenue[rng.random(n) < 0.15] = np.nan  # CRM gaps
    seniority = np.asarray(SENIORITY[0], dtype=object)[sen]
    seniority[rng.random(n) < 0.08] = None
    department = np.asarray(DEPARTMENT[0], dtype=object)[dep]
    department[rng.random(n) < 0.05] = None
    attrs = {
        "industry": np.asarray(INDUSTRY[0], dtype=object)[ind_a[account]],
        "company_size": np.asarray(COMPANY_SIZE[0], dtype=object)[size_a[account]],
        "annual_revenue": revenue,
        "country": np.asarray(COUNTRY[0], dtype=object)[cty_a[account]],
        "seniority": seniority,
        "department": department,
        "lead_source": np.asarray(LEAD_SOURCE[0], dtype=object)[src],
        "is_customer": customer,
    }
    entry_scale = np.where(customer, config.customer_entry_boost, 1.0) * np.exp(0.2 * fit)
    a = config.market_entry_per_day * entry_scale
    created = rng.random(n) * config.days * 0.9
    return People(
        n=n,
        account=account,
        created=created,
        attrs=attrs,
        size_idx=size_a[account],
        fit=fit,
        customer=customer,
        a=a,
        entry_scale=entry_scale,
        b=np.full(n, config.market_exit_per_day),
        lam=lam0 * np.exp(0.5 * fit),
        mu=np.full(n, config.opportunity_close_per_day),
        w=1 / (1 + np.exp(-(config.win_logit + 0.4 * fit))),
        engagement=engagement,
        bad_address=rng.random(n) < config.bad_address_share,
    )
