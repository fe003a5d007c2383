"""How close to the oracle can any model get on the simulator? Out-of-time ROC-AUC of a Bayes
observer (``_bayes_observer``) on the product's own holdout, between the oracle and the model.

    python benchmarks/observer_bound.py --leads 100000      # issue #37's 100k-lead holdout
    python benchmarks/observer_bound.py --leads 5000 --nodes 2   # smoke run

Same simulation (seed), same holdout rows as ``training.py``: its results give the model's
AUC on them. Reported: the oracle (latent state and hidden rates known), the observer told
each lead's hidden rates (the state inferred from behaviour), and the observer without them
(what any model could reach).
Writes benchmarks/results/observer_bound.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _bayes_observer import DEAL_CLOSED, DEAL_OPENED, SEND, filter_leads

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the packages before this folder (it has a training.py)
from features.time_rule import DAY_NS  # noqa: E402  (after the path)

RESULTS = ROOT / "benchmarks" / "results" / "observer_bound.json"
HORIZON = 90.0


def observations(
    sim: Path, lead_ids: pd.Index, as_of: pd.Timestamp, config
) -> dict[str, np.ndarray]:
    """Everything observable up to as_of, per lead in ``lead_ids`` order, sorted by time."""
    from features.simulation.lead_journeys import ENGAGEMENT_RATES

    engagement_types = list(ENGAGEMENT_RATES)

    def days(values: pd.Series) -> np.ndarray:
        return pd.to_datetime(values, utc=True).astype("int64").to_numpy() / DAY_NS

    events = pd.read_parquet(sim / "events.parquet")
    events = events[events["lead_id"].isin(lead_ids) & (events["occurred_at"] <= as_of)].copy()
    events["code"], events["t"] = (
        lead_ids.get_indexer(events["lead_id"]),
        days(events["occurred_at"]),
    )
    bounced = events.loc[events["event_type"] == "email_bounce", "code"].unique()
    sends = events[(events["event_type"] == "email_send") & ~events["code"].isin(bounced)]
    sends = sends.sort_values("t").assign(send=lambda f: np.arange(len(f)))

    def answered(response: str) -> pd.Series:
        rows = events[events["event_type"] == response].sort_values("t")
        matched = pd.merge_asof(
            rows[["t", "code", "campaign"]], sends[["t", "code", "campaign", "send"]],
            on="t", by=["code", "campaign"], direction="backward",
        )  # fmt: skip
        return sends["send"].isin(matched["send"].dropna())

    engagement = events[events["event_type"].isin(engagement_types)]
    parts = [
        pd.DataFrame({"code": engagement["code"], "t": engagement["t"],
                      "kind": engagement["event_type"].map(engagement_types.index)}),
        pd.DataFrame({"code": sends["code"], "t": sends["t"], "kind": SEND,
                      "campaign": sends["campaign"].map(list(config.campaigns).index),
                      "opened": answered("email_open"), "clicked": answered("email_click")}),
    ]  # fmt: skip
    deals = pd.read_parquet(sim / "outcomes.parquet")
    deals = deals[deals["lead_id"].isin(lead_ids) & (deals["opened_at"] <= as_of)]
    code = lead_ids.get_indexer(deals["lead_id"])
    parts.append(pd.DataFrame({"code": code, "t": days(deals["opened_at"]), "kind": DEAL_OPENED}))
    closed = (deals["closed_at"] <= as_of).to_numpy()
    parts.append(
        pd.DataFrame({"code": code[closed], "t": days(deals["closed_at"][closed]), "kind": DEAL_CLOSED,
                      "won": deals["won"][closed].astype(bool).to_numpy()})
    )  # fmt: skip
    frame = pd.concat(parts, ignore_index=True).sort_values(["code", "t"], kind="stable")
    frame = frame.fillna({"campaign": 0, "opened": False, "clicked": False, "won": False})
    out = {
        "t": frame["t"].to_numpy(float),
        "kind": frame["kind"].to_numpy(np.int64),
        "campaign": frame["campaign"].to_numpy(np.int64),
        **{k: frame[k].to_numpy(bool) for k in ("opened", "clicked", "won")},
    }
    out["starts"] = np.searchsorted(frame["code"].to_numpy(), np.arange(len(lead_ids) + 1))
    return out


def explained_fit(leads: pd.DataFrame) -> np.ndarray:
    """The part of each lead's fit its attributes carry (the simulator's coefficients; a
    missing attribute counts at its expected coefficient)."""
    from features.simulation import population as pop

    tables = {
        "industry": pop.INDUSTRY, "company_size": pop.COMPANY_SIZE, "country": pop.COUNTRY,
        "seniority": pop.SENIORITY, "department": pop.DEPARTMENT, "lead_source": pop.LEAD_SOURCE,
    }  # fmt: skip
    fit = 0.6 * leads["is_customer"].to_numpy(float)
    for column, (values, probs, coefs) in tables.items():
        expected = float(np.dot(probs, coefs) / np.sum(probs))
        fit += leads[column].map(dict(zip(values, coefs, strict=True))).fillna(expected).to_numpy()
    return fit


def hidden_rates(config, lam0: float, fit, customer, engagement) -> dict[str, np.ndarray]:
    """The simulator's rate formulas (``features.simulation.population``) for given draws."""
    entry_scale = np.where(customer, config.customer_entry_boost, 1.0) * np.exp(0.2 * fit)
    return {
        "entry_base": (config.market_entry_per_day - config.campaign_entry_per_day) * entry_scale,
        "entry_mailed": config.market_entry_per_day * entry_scale,
        "exit_rate": np.full(len(fit), config.market_exit_per_day),
        "opp_rate": lam0 * np.exp(0.5 * fit),
        "close_rate": np.full(len(fit), config.opportunity_close_per_day),
        "win": 1.0 / (1.0 + np.exp(-(config.win_logit + 0.4 * fit))),
        "engagement": engagement,
        "entry_scale": entry_scale,
    }


def observe(config, obs, as_of_days: float, created, rates) -> tuple[np.ndarray, ...]:
    """Per lead: log-likelihood of its observations, P(out, in, pre-opportunity, opportunity)
    at as_of and P(win within the horizon)."""
    from features.simulation.lead_journeys import ENGAGEMENT_RATES
    from features.simulation.oracle import IN, OPP, OUT, generator_matrices, win_within

    loglik, state = filter_leads(
        obs["starts"], obs["t"], obs["kind"], obs["campaign"], obs["opened"], obs["clicked"],
        obs["won"], as_of_days, created, rates["entry_base"], rates["exit_rate"],
        rates["opp_rate"], rates["close_rate"], rates["win"], rates["engagement"],
        rates["entry_scale"], np.array(list(ENGAGEMENT_RATES.values())),
        np.array(config.campaign_market_entry), np.array(config.open_rate),
        np.array(config.click_rate),
    )  # fmt: skip
    q = generator_matrices(*(rates[k] for k in ("entry_mailed", "exit_rate", "opp_rate")),
                           rates["close_rate"], rates["win"])  # fmt: skip
    n = len(created)
    win = [win_within(q, np.full(n, s), np.full(n, HORIZON)) for s in (OUT, IN, OPP)]
    # A pending opportunity (intent signal seen) opens within days: counted as one.
    return loglik, state, state[:, 0] * win[0] + state[:, 1] * win[1] + state[:, 2:].sum(1) * win[2]


def _softmax(log_weights: np.ndarray, axis: int) -> np.ndarray:
    w = np.exp(log_weights - log_weights.max(axis=axis, keepdims=True))
    return w / w.sum(axis=axis, keepdims=True)


def bayes_observer(config, lam0, obs, as_of_days, leads, nodes: int) -> np.ndarray:
    """P(win) integrated over the hidden draws: account effect (shared by colleagues, sd
    0.35), the lead's own fit noise (sd 0.3) and engagement (log sd 0.5)."""
    from numpy.polynomial.hermite_e import hermegauss

    z, w = hermegauss(nodes)
    log_w = np.log(w / w.sum())
    known = explained_fit(leads)
    customer = leads["is_customer"].to_numpy(bool)
    created = leads["created_days"].to_numpy()
    shape = (nodes, nodes, nodes, len(leads))
    loglik, prob = np.empty(shape), np.empty(shape)
    for j, k, m in np.ndindex(nodes, nodes, nodes):
        fit = known + 0.35 * z[j] + 0.3 * z[k]
        rates = hidden_rates(config, lam0, fit, customer, np.exp(0.25 * fit + 0.5 * z[m]))
        ll, _, p = observe(config, obs, as_of_days, created, rates)
        loglik[j, k, m], prob[j, k, m] = ll + log_w[k] + log_w[m], p
    flat = loglik.reshape(nodes, nodes * nodes, -1)
    lead_given_account = np.logaddexp.reduce(flat, axis=1)  # (nodes, leads)
    account = pd.factorize(leads["account_id"])[0]
    by_account = np.zeros((nodes, account.max() + 1))
    for j in range(nodes):
        np.add.at(by_account[j], account, lead_given_account[j])
    account_effect = _softmax(log_w[:, None] + by_account[:, account], axis=0)
    within = _softmax(flat, axis=1)
    given_effect = (within * prob.reshape(nodes, nodes * nodes, -1)).sum(axis=1)
    return (account_effect * given_effect).sum(axis=0)


def run(n_leads: int, seed: int, nodes: int) -> dict:
    from sklearn.metrics import roc_auc_score

    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from features.simulation.oracle import oracle_probability
    from features.simulation.simulation_config import SimulationConfig
    from features.simulation.simulator import simulate_crm
    from training.training_config import TrainingConfig
    from training.training_set import build_training_set, feature_params

    config = SimulationConfig(n_leads=n_leads, seed=seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sim = Path(tmp)
        simulate_crm(config, sim)
        dataset = load_dataset(load_config("demo"), sim)
        params = feature_params(dataset, int(HORIZON), 30)
        holdout = build_training_set(dataset, params, TrainingConfig(), seed).segment("holdout")
        as_of = holdout["as_of"].iloc[0]
        if not (holdout["as_of"] == as_of).all():
            raise SystemExit("the holdout spans several as_of dates: one is expected")
        ids = pd.Index(holdout["lead_id"])
        leads = pd.read_parquet(sim / "leads.parquet").set_index("lead_id").loc[ids]
        leads["created_days"] = leads["created_at"].astype("int64").to_numpy() / DAY_NS
        truth = pd.read_parquet(sim / "truth.parquet")
        lam0 = json.loads((sim / "simulation.json").read_text())["opportunity_base_rate"]
        obs = observations(sim, ids, as_of, config)
    as_of_days = as_of.value / DAY_NS
    y = holdout["label"].to_numpy()
    oracle = oracle_probability(truth, ids, holdout["as_of"], HORIZON)
    drawn = truth.drop_duplicates("lead_id").set_index("lead_id").loc[ids]
    fit = drawn["fit"].to_numpy()
    rates = hidden_rates(config, lam0, fit, leads["is_customer"].to_numpy(bool),
                         drawn["engagement_propensity"].to_numpy())  # fmt: skip
    _, _, told = observe(config, obs, as_of_days, leads["created_days"].to_numpy(), rates)
    bayes = bayes_observer(config, lam0, obs, as_of_days, leads, nodes)

    def auc(p: np.ndarray) -> float:
        return round(float(roc_auc_score(y, p)), 4)

    return {
        "leads": n_leads, "seed": seed, "holdout_rows": len(y), "holdout_positives": int(y.sum()),
        "grid_nodes": nodes, "roc_auc_oracle": auc(oracle),
        "roc_auc_observer_told_hidden_rates": auc(told),
        "roc_auc_bayes_observer": auc(bayes),
        "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--nodes", type=int, default=3, help="Gauss-Hermite nodes per hidden draw")
    args = parser.parse_args()
    result = run(args.leads, args.seed, args.nodes)
    print(json.dumps(result, indent=1))
    from common.files import write_text_atomically

    write_text_atomically(json.dumps(result, indent=1), RESULTS)


if __name__ == "__main__":
    main()
