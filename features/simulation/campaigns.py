"""The simulator's marketing: nurture emails sent under campaigns with known effects and costs.

Every lead gets nurture emails on a cadence from creation (a Poisson stream, one every
``email_every_days`` on average) until it unsubscribes; each send goes out under a campaign
drawn by the campaigns' send shares. A delivered send moves a lead that is out of market into
the market with the campaign's probability (``campaign_market_entry``) times the lead's fit
multiplier of market entry: that probability is the campaign's true effect, and a marketing
report that attributes sales-ready leads to campaigns should rank them in its order. Because
sends arrive as a Poisson stream and the campaign and the move are drawn independently per
send, the moves are themselves a Poisson stream: the latent chain stays a Markov chain whose
rate of entering the market is the base rate plus the campaigns' (what ``truth.a`` records).

Spend: each send costs its campaign's cost per send (bounced ones too: they were sent), each
webinar attendance costs the webinar channel; :func:`costs_table` gives the spend per
campaign or channel and month, the shape a company's own cost export takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from features.simulation.population import People
from features.simulation.simulation_config import SimulationConfig

EMAIL_CHANNEL = "email"
WEBINAR_CHANNEL = "webinar"


@dataclass
class Sends:
    """Every nurture email of a chunk, sorted by lead then time (times in days since start)."""

    lead: np.ndarray
    t: np.ndarray
    campaign: np.ndarray  # index into config.campaigns
    unsubscribed: np.ndarray  # the lead unsubscribed from this email (its last)
    bounced: np.ndarray  # never delivered (bad address)
    moves_into_market: np.ndarray  # delivered, and moves the lead in if it is out of market


def draw_sends(config: SimulationConfig, rng: np.random.Generator, people: People) -> Sends:
    """The nurture emails: cadence, unsubscribes (no send after one), campaigns, and which
    delivered sends would move their lead into the market."""
    span = float(config.days) - people.created
    n_sends = rng.poisson(span / config.email_every_days)
    lead = np.repeat(np.arange(people.n), n_sends)
    t = people.created[lead] + rng.random(lead.size) * span[lead]
    order = np.lexsort((t, lead))
    lead, t = lead[order], t[order]
    unsub = rng.random(lead.size) < config.unsubscribe_rate
    # Sends after a lead's first unsubscribe never happen: exclusive cumulative count per lead.
    cum = np.cumsum(unsub)
    first = np.r_[0, np.flatnonzero(np.diff(lead)) + 1] if lead.size else np.zeros(0, int)
    base = np.repeat(cum[first] - unsub[first], np.diff(np.r_[first, lead.size]))
    sent = (cum - unsub - base) == 0
    lead, t, unsub = lead[sent], t[sent], unsub[sent]
    campaign = rng.choice(len(config.campaigns), size=lead.size, p=config.send_shares)
    bounced = people.bad_address[lead]
    chance = np.asarray(config.campaign_market_entry)[campaign] * people.entry_scale[lead]
    moves = ~bounced & (rng.random(lead.size) < chance)
    return Sends(lead, t, campaign.astype(np.int16), unsub, bounced, moves)


def base_market_entry(config: SimulationConfig, people: People) -> np.ndarray:
    """Each lead's rate of entering the market without the campaigns."""
    return people.a - config.campaign_entry_per_day * people.entry_scale


def receives_emails_until(people: People, sends: Sends) -> np.ndarray:
    """Per lead, the time after which no email reaches it: its unsubscribe, or 0 for a bad
    address (none ever does); ``inf`` when emails keep coming."""
    until = np.full(people.n, np.inf)
    until[sends.lead[sends.unsubscribed]] = sends.t[sends.unsubscribed]
    until[people.bad_address] = 0.0
    return until


def month_index(config: SimulationConfig, days: np.ndarray) -> np.ndarray:
    """Calendar month of times in days since start, as months since the start's month."""
    start = np.datetime64(config.start, "D")
    when = start + np.floor(days).astype("timedelta64[D]")
    return (when.astype("datetime64[M]") - start.astype("datetime64[M]")).astype(np.int64)


def n_months(config: SimulationConfig) -> int:
    return int(month_index(config, np.array([config.days - 1e-9]))[0]) + 1


def spend_counts(config: SimulationConfig, sends: Sends, webinar_days: np.ndarray) -> np.ndarray:
    """(campaigns + 1, months): sends per campaign and month, then webinar attendances per
    month; summed over chunks, they price into :func:`costs_table`."""
    months = n_months(config)
    n = len(config.campaigns)
    counts = np.zeros((n + 1, months))
    np.add.at(counts, (sends.campaign.astype(np.int64), month_index(config, sends.t)), 1.0)
    np.add.at(counts[n], month_index(config, webinar_days), 1.0)
    return counts


def costs_table(config: SimulationConfig, counts: np.ndarray) -> pa.Table:
    """The spend per campaign (email channel) and month, and the webinar channel's per month:
    columns campaign, channel, period (the month, YYYY-MM), spend."""
    n = len(config.campaigns)
    price = np.r_[np.asarray(config.campaign_cost_per_send), config.webinar_cost_per_attendee]
    spend = np.round(counts * price[:, None], 2)
    first = np.datetime64(config.start, "M")
    periods = [str(first + np.timedelta64(m, "M")) for m in range(counts.shape[1])]
    rows, months = np.nonzero(counts > 0)
    campaigns = [*config.campaigns, None]
    channels = [EMAIL_CHANNEL] * n + [WEBINAR_CHANNEL]
    return pa.table(
        {
            "campaign": pa.array([campaigns[r] for r in rows], pa.string()),
            "channel": pa.array([channels[r] for r in rows], pa.string()),
            "period": pa.array([periods[m] for m in months], pa.string()),
            "spend": pa.array(spend[rows, months], pa.float64()),
        }
    )


def campaign_truth(
    config: SimulationConfig, counts: np.ndarray, entries_caused: np.ndarray
) -> list[dict[str, Any]]:
    """What each campaign truly did, for simulation.json: its effect per touch, share of the
    sends, cost per send, sends, spend, and the market entries it caused."""
    sends = counts[: len(config.campaigns)].sum(axis=1)
    return [
        {
            "campaign": name,
            "channel": EMAIL_CHANNEL,
            "market_entry_per_touch": config.campaign_market_entry[i],
            "send_share": round(config.send_shares[i], 6),
            "cost_per_send": config.campaign_cost_per_send[i],
            "sends": int(sends[i]),
            "spend": round(float(sends[i] * config.campaign_cost_per_send[i]), 2),
            "market_entries_caused": int(entries_caused[i]),
        }
        for i, name in enumerate(config.campaigns)
    ]
