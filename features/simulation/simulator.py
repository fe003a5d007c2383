"""A B2B lead-lifecycle simulator with a known ground truth.

Each lead follows a continuous-time Markov chain over four latent states:

    OUT (nurture, not buying)  --a-->  IN (in market)  --lam-->  OPP (open opportunity)
    IN  --b-->  OUT                      OPP --mu*w--> WON -> OUT (now a customer: can buy again)
                                         OPP --mu*(1-w)--> OUT (lost, recycled into nurture)

``a`` (market entry), ``lam`` (sales-ready -> opportunity) and ``w`` (win probability) grow with
the lead's *fit* (industry, company size, seniority, department, source, existing customer);
engagement (web visits, pricing-page views, downloads, webinars, demo requests, forms) arrives
as Poisson streams whose intensity depends on the state and on the lead's engagement propensity;
nurture emails are sent on a cadence and opened/clicked more while in market; unsubscribes stop
them, bad addresses bounce. Most opportunities are preceded by a demo request or a form.

Ground truth (``truth.parquet``, never a feature): one row per latent-state interval with the
lead's rates; ``features.simulation.oracle.oracle_probability`` turns it into the exact probability of a
win within the horizon given the latent state at as_of. Who the leads are (attributes, fit and
rates) is drawn by ``features.simulation.population``; the walk through the states and the engagement it
emits are ``features.simulation.lead_journeys``.

Output (Parquet, written atomically, one row group per chunk): ``leads`` (lead_id, account_id,
created_at, industry, company_size, annual_revenue, country, seniority, department,
lead_source, is_customer), ``events`` (lead_id, occurred_at, event_type, campaign, channel),
``outcomes`` (lead_id, opened_at, closed_at, won, amount -- lost deals carry NaN amount;
opportunities still open at the end of the history have an empty closed_at and won), ``truth``,
``costs`` (spend per campaign or channel and month, ``features.simulation.campaigns``) and
``simulation.json`` (config, counts, realised rates, each campaign's true effect and spend).

Determinism: the output is a pure function of ``(config, chunk_size)``: every chunk draws from
its own stream spawned from ``SeedSequence(seed)``. Changing ``chunk_size`` changes the draws.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.ingest import contracts as c
from features.simulation.campaigns import (
    base_market_entry,
    campaign_truth,
    costs_table,
    draw_sends,
    receives_emails_until,
    spend_counts,
)
from features.simulation.lead_journeys import CHANNEL, EVENT_TYPES, emit_events, walk_states
from features.simulation.oracle import (
    IN,
    OPP,
    OUT,
    STATE_NAMES,
    WON,
    generator_matrices,
    win_within,
)
from features.simulation.population import DEAL_BY_SIZE, draw_people
from features.simulation.realised_rates import chunk_stats
from features.simulation.simulation_config import SimulationConfig, SimulationSummary

# ------------------------------------------------------------------ simulation


def calibrate_opportunity_rate(config: SimulationConfig) -> float:
    """The IN -> OPP base rate whose expected share of leads winning within the history equals
    ``base_conversion`` (exact expectation over a pilot population, by bisection)."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 7_777_777]))
    pilot = draw_people(config, rng, 4000, 1.0)
    remaining = config.days - pilot.created
    p_in = config.start_in_market

    def expected(lam0: float) -> float:
        q = generator_matrices(pilot.a, pilot.b, lam0 * pilot.lam, pilot.mu, pilot.w)
        n = pilot.n
        from_in = win_within(q, np.full(n, IN), remaining)
        from_out = win_within(q, np.full(n, OUT), remaining)
        return float(np.mean(p_in * from_in + (1 - p_in) * from_out))

    lo, hi = np.log(1e-5), np.log(5.0)
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expected(np.exp(mid)) < config.base_conversion else (lo, mid)
    return float(np.exp((lo + hi) / 2))


def _ns(start_ns: int, days: np.ndarray) -> np.ndarray:
    """Days since start -> UTC timestamps, truncated to whole seconds."""
    seconds = np.floor(days * 86_400.0).astype(np.int64)
    return (start_ns + seconds * 10**9).astype("datetime64[ns]")


def _ts(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.timestamp("ns", tz="UTC"))


@dataclass
class _ChunkTables:
    leads: pa.Table
    events: pa.Table
    outcomes: pa.Table
    truth: pa.Table
    stats: dict[str, float]
    spend_counts: np.ndarray  # sends per campaign and month, webinar attendances per month
    entries_caused: np.ndarray  # market entries each campaign's sends caused


def simulate_chunk(
    config: SimulationConfig, seed: np.random.SeedSequence, offset: int, n: int, lam0: float
) -> _ChunkTables:
    """Simulate leads ``offset .. offset + n`` with their own random stream."""
    rng = np.random.default_rng(seed)
    people = draw_people(config, rng, n, lam0)
    sends = draw_sends(config, rng, people)
    walk = walk_states(config, rng, people, sends)
    leads_l, times_l, types_l, campaigns_l = emit_events(config, rng, people, walk, sends)
    start_ns = pd.Timestamp(config.start, tz="UTC").value
    ids = np.array([f"L{offset + i + 1:07d}" for i in range(n)], dtype=object)
    accounts = np.array(
        [f"A{offset + i + 1:07d}" for i in range(people.account.max() + 1)], dtype=object
    )
    leads = pa.table(
        {
            c.LEAD_ID: pa.array(ids, pa.string()),
            c.ACCOUNT_ID: pa.array(accounts[people.account], pa.string()),
            c.CREATED_AT: _ts(_ns(start_ns, people.created)),
            **{
                k: pa.array(v, pa.bool_() if k == "is_customer" else None)
                for k, v in people.attrs.items()
            },
        }
    )
    ev_lead = np.concatenate(leads_l)
    ev_t = np.concatenate(times_l)
    ev_type = np.concatenate(types_l)
    ev_campaign = np.concatenate(campaigns_l)
    webinar_days = ev_t[ev_type == EVENT_TYPES.index("webinar_attended")]
    # Truncating to seconds can put an event a fraction before creation: clamp to created_at.
    ev_ns = np.maximum(_ns(start_ns, ev_t), _ns(start_ns, people.created[ev_lead]))
    order = np.lexsort((ev_ns.view("i8"), ev_lead))
    ev_lead, ev_ns, ev_type = ev_lead[order], ev_ns[order], ev_type[order]
    channel = np.asarray([CHANNEL[t] for t in EVENT_TYPES], dtype=object)[ev_type]
    campaign = np.asarray([*config.campaigns, None], dtype=object)[ev_campaign[order]]
    events = pa.table(
        {
            c.LEAD_ID: pa.array(ids[ev_lead], pa.string()),
            c.OCCURRED_AT: _ts(ev_ns),
            c.EVENT_TYPE: pa.array(np.asarray(EVENT_TYPES, dtype=object)[ev_type], pa.string()),
            c.CAMPAIGN: pa.array(campaign, pa.string()),
            c.CHANNEL: pa.array(channel, pa.string()),
        }
    )
    closed = (walk["state"] == OPP) & (walk["next"] >= 0)
    won = walk["next"][closed] == WON
    o_lead = walk["lead"][closed]
    amount = np.where(
        won, DEAL_BY_SIZE[people.size_idx[o_lead]] * rng.lognormal(0.0, 0.5, o_lead.size), np.nan
    )
    # Opportunities still open at the end of the history: a CRM export lists them with an open
    # date and no close date (no outcome yet).
    still_open = (walk["state"] == OPP) & (walk["next"] < 0)
    deal_rows = np.r_[np.flatnonzero(closed), np.flatnonzero(still_open)]
    n_open = int(still_open.sum())
    outcomes = pa.table(
        {
            c.LEAD_ID: pa.array(ids[walk["lead"][deal_rows]], pa.string()),
            c.OPENED_AT: _ts(_ns(start_ns, walk["start"][deal_rows])),
            c.CLOSED_AT: pa.array(
                np.r_[_ns(start_ns, walk["end"][closed]), np.zeros(n_open, "datetime64[ns]")],
                pa.timestamp("ns", tz="UTC"),
                mask=np.r_[np.zeros(o_lead.size, bool), np.ones(n_open, bool)],
            ),
            c.WON: pa.array(np.r_[won, np.zeros(n_open, bool)], mask=np.r_[
                np.zeros(o_lead.size, bool), np.ones(n_open, bool)
            ]),
            c.AMOUNT: pa.array(np.r_[np.round(amount, 2), np.full(n_open, np.nan)]),
        }
    )  # fmt: skip
    w_lead = walk["lead"]
    # The rate of entering the market an interval starts with: the campaigns' part only while
    # the emails reach the lead (exact for the chain until an unsubscribe).
    mailed = walk["start"] < receives_emails_until(people, sends)[w_lead]
    entry = np.where(mailed, people.a[w_lead], base_market_entry(config, people)[w_lead])
    cause = walk["cause"]
    truth = pa.table(
        {
            c.LEAD_ID: pa.array(ids[w_lead], pa.string()),
            "state": pa.array(walk["state"].astype(np.int8)),
            "state_name": pa.array(
                np.asarray(STATE_NAMES, dtype=object)[walk["state"]], pa.string()
            ),
            "start": _ts(_ns(start_ns, walk["start"])),
            "end": _ts(_ns(start_ns, walk["end"])),
            "fit": pa.array(people.fit[w_lead]),
            "engagement_propensity": pa.array(people.engagement[w_lead]),
            "a": pa.array(entry),
            **{k: pa.array(getattr(people, k)[w_lead]) for k in ("b", "lam", "mu", "w")},
            "entered_by_campaign": pa.array(
                np.asarray([*config.campaigns, None], dtype=object)[cause], pa.string()
            ),
        }
    )
    stats = chunk_stats(people, walk, ev_lead, ev_ns, ev_type, o_lead, won, start_ns)
    stats["open_deals"] = float(n_open)
    return _ChunkTables(
        leads, events, outcomes, truth, stats,
        spend_counts(config, sends, webinar_days),
        np.bincount(cause[cause >= 0], minlength=len(config.campaigns)),
    )  # fmt: skip


def simulate_crm(
    config: SimulationConfig, out_dir: Path, progress: Callable[[int], None] | None = None
) -> SimulationSummary:
    """Simulate ``config.n_leads`` leads chunk by chunk and write the tables atomically."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lam0 = calibrate_opportunity_rate(config)
    n_chunks = -(-config.n_leads // config.chunk_size)
    seeds = np.random.SeedSequence(config.seed).spawn(n_chunks)
    names = ("leads", "events", "outcomes", "truth")
    tmp = {name: _temp_path(out_dir, f"{name}.parquet") for name in (*names, "costs")}
    writers: dict[str, pq.ParquetWriter] = {}
    totals: dict[str, float] = {}
    counts = dict.fromkeys(names, 0)
    spent, caused = 0.0, 0
    try:
        for i, seed in enumerate(seeds):
            offset = i * config.chunk_size
            n = min(config.chunk_size, config.n_leads - offset)
            chunk = simulate_chunk(config, seed, offset, n, lam0)
            for name in names:
                table = getattr(chunk, name)
                if name not in writers:
                    writers[name] = pq.ParquetWriter(tmp[name], table.schema)
                writers[name].write_table(table)
                counts[name] += table.num_rows
            for key, value in chunk.stats.items():
                totals[key] = totals.get(key, 0.0) + value
            spent, caused = spent + chunk.spend_counts, caused + chunk.entries_caused
            if progress:
                progress(n)
        for writer in writers.values():
            writer.close()
        pq.write_table(costs_table(config, spent), tmp["costs"])
        paths = {}
        for name in (*names, "costs"):
            final = out_dir / f"{name}.parquet"
            os.replace(tmp[name], final)
            paths[name] = str(final)
    except BaseException:
        for writer in writers.values():
            writer.close()
        for path in tmp.values():
            Path(path).unlink(missing_ok=True)
        raise
    summary = SimulationSummary(
        config=config,
        leads=counts["leads"],
        events=counts["events"],
        outcomes=counts["outcomes"] - int(totals["open_deals"]),
        open_deals=int(totals["open_deals"]),
        accounts=int(totals["accounts"]),
        conversion_rate=totals["buyers"] / counts["leads"],
        win_rate=totals["wins"] / max(totals["opportunities"], 1.0),
        mean_touches_before_purchase=totals["touches"] / max(totals["buyers"], 1.0),
        opportunity_lift_top_vs_bottom_fit=(totals["buyers_top_fit"] / max(totals["top_fit"], 1))
        / max(totals["buyers_bottom_fit"] / max(totals["bottom_fit"], 1), 1e-9),
        seconds=time.perf_counter() - started,
        campaigns=campaign_truth(config, spent, caused),
    )
    summary.paths = {**paths, "summary": str(out_dir / "simulation.json")}
    meta = {**summary.to_dict(), "opportunity_base_rate": lam0}
    final = out_dir / "simulation.json"
    tmp_json = _temp_path(out_dir, "simulation.json")
    Path(tmp_json).write_text(json.dumps(meta, indent=2, default=str))
    os.replace(tmp_json, final)
    return summary


def _temp_path(folder: Path, name: str) -> str:
    fd, path = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(path, 0o644)  # mkstemp makes 0600; like every output, the tables are shared
    return path
