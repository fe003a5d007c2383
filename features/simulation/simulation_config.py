"""What the simulator is asked for (:class:`SimulationConfig`: sizes, rates and effects)
and what it reports back (:class:`SimulationSummary`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. Rates are per day; the fit effects are in log space."""

    n_leads: int = 10_000
    seed: int = 42
    start: str = "2024-01-01"
    days: int = 730
    leads_per_account: float = 3.0
    base_conversion: float = 0.10  # share of leads that win at least once within the history
    customer_share: float = 0.12
    chunk_size: int = 50_000
    market_entry_per_day: float = 1 / 150  # OUT -> IN for a prospect
    customer_entry_boost: float = 2.0  # customers re-enter the market more often
    market_exit_per_day: float = 1 / 35  # IN -> OUT
    opportunity_close_per_day: float = 1 / 30  # OPP -> closed
    win_logit: float = -1.2  # win probability of an average-fit opportunity: ~0.23
    start_in_market: float = 0.35  # share of new leads that arrive in market (inquiries)
    email_every_days: float = 14.0
    open_rate: tuple[float, float] = (0.10, 0.30)  # (not in market, in market / opportunity)
    click_rate: tuple[float, float] = (0.08, 0.25)  # of opens
    unsubscribe_rate: float = 0.004  # per email sent
    bad_address_share: float = 0.03  # every email to these bounces
    intent_before_opportunity: float = 0.7  # opportunities preceded by a demo request/form

    def __post_init__(self) -> None:
        if self.n_leads < 1 or self.chunk_size < 1 or self.days < 30:
            raise ValueError("SimulationConfig: n_leads, chunk_size >= 1 and days >= 30")
        if not 0 < self.base_conversion < 0.9:
            raise ValueError(f"base_conversion must be in (0, 0.9), got {self.base_conversion}")


@dataclass
class SimulationSummary:
    """Row counts, realised rates and where the files are."""

    config: SimulationConfig
    leads: int
    events: int
    outcomes: int  # closed deals
    accounts: int
    conversion_rate: float
    win_rate: float
    mean_touches_before_purchase: float
    opportunity_lift_top_vs_bottom_fit: float
    seconds: float
    paths: dict[str, str] = field(default_factory=dict)
    open_deals: int = 0  # opportunities still open at the end (in outcomes, no closed_at)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["config"] = asdict(self.config)
        return out
