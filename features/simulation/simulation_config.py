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
    # Nurture campaigns: each email goes out under one of them (drawn by send share). A
    # delivered send moves a lead that is out of market into the market with the campaign's
    # probability (times the lead's fit multiplier of market entry): the campaign's true
    # effect. Sends cost the campaign's cost per send; webinar attendances cost the webinar
    # channel. The market-entry rate without campaigns is lowered by the campaigns' mean
    # effect, so the total rate of entering the market stays ``market_entry_per_day``.
    campaigns: tuple[str, ...] = tuple(f"nurture_{i:02d}" for i in range(1, 9))
    campaign_market_entry: tuple[float, ...] = (0.05, 0.01, 0.08, 0.0, 0.03, 0.10, 0.02, 0.065)
    campaign_send_share: tuple[float, ...] = (0.20, 0.17, 0.14, 0.13, 0.11, 0.10, 0.08, 0.07)
    campaign_cost_per_send: tuple[float, ...] = (12.0, 8.0, 30.0, 6.0, 20.0, 45.0, 10.0, 25.0)
    webinar_cost_per_attendee: float = 150.0

    def __post_init__(self) -> None:
        if self.n_leads < 1 or self.chunk_size < 1 or self.days < 30:
            raise ValueError("SimulationConfig: n_leads, chunk_size >= 1 and days >= 30")
        if not 0 < self.base_conversion < 0.9:
            raise ValueError(f"base_conversion must be in (0, 0.9), got {self.base_conversion}")
        n = len(self.campaigns)
        per_campaign = (
            self.campaign_market_entry, self.campaign_send_share, self.campaign_cost_per_send
        )  # fmt: skip
        if n < 1 or any(len(values) != n for values in per_campaign):
            raise ValueError(
                "campaigns, campaign_market_entry, campaign_send_share and "
                f"campaign_cost_per_send need one value per campaign ({n} campaigns)"
            )
        if not all(0.0 <= p < 1.0 for p in self.campaign_market_entry):
            raise ValueError("campaign_market_entry: probabilities in [0, 1)")
        if min(self.campaign_send_share) < 0 or sum(self.campaign_send_share) <= 0:
            raise ValueError("campaign_send_share: non-negative, not all zero")
        if self.market_entry_per_day <= self.campaign_entry_per_day:
            raise ValueError(
                f"campaigns bring {self.campaign_entry_per_day:.5f} market entries a day, more "
                f"than market_entry_per_day ({self.market_entry_per_day:.5f}): lower their effects"
            )

    @property
    def send_shares(self) -> tuple[float, ...]:
        """Each campaign's share of the sends (normalised to sum to 1)."""
        total = sum(self.campaign_send_share)
        return tuple(share / total for share in self.campaign_send_share)

    @property
    def campaign_entry_per_day(self) -> float:
        """Market entries a day the campaigns cause for a lead out of market who receives the
        emails (before the lead's fit multiplier): sends a day x the mean effect of a send."""
        mean = sum(s * p for s, p in zip(self.send_shares, self.campaign_market_entry, strict=True))
        return mean / self.email_every_days


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
    # Each campaign's true effect, sends, spend and the market entries it caused
    # (``features.simulation.campaigns.campaign_truth``).
    campaigns: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["config"] = asdict(self.config)
        return out
