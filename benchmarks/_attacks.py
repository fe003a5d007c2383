"""The attacks of issue #32's table, each against a real running service (see attack_table.py).

Every function takes what it needs (the service's URL, its log, its store folder) and returns
one row: ``{"what": ..., "outcome": ...}`` plus the measured numbers. Request loops are bounded
in count and time and send traffic to the loopback address only.
"""

from __future__ import annotations

import json
import random
import string
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from serving_support import stop
from sqlite_lock import hold_sqlite_lock, stored_history

PERSONAL = ("jane.doe@example.com", "+1-555-0142", "Jane Q. Doe")


def metrics_growth(url: str, auth: dict[str, str], n_paths: int, seed: int) -> dict[str, Any]:
    """Random unauthenticated paths, then /metrics' size, scrape time and lead ids in it."""
    rng = random.Random(seed)
    before = len(httpx.get(f"{url}/metrics", timeout=60).content)
    httpx.get(f"{url}/history/{PERSONAL[0]}", timeout=10)
    httpx.get(f"{url}/leads/{PERSONAL[0]}", timeout=10)
    httpx.get(f"{url}/leads/{PERSONAL[0]}", headers=auth, timeout=10)
    with httpx.Client(timeout=10) as client:
        for _ in range(n_paths):
            path = "".join(rng.choices(string.ascii_lowercase + string.digits, k=16))
            client.get(f"{url}/{path}")
    start = time.perf_counter()
    text = httpx.get(f"{url}/metrics", timeout=120).text
    scrape = time.perf_counter() - start
    return {
        "what": f"{n_paths} unauthenticated requests to random paths",
        "metrics_bytes_before": before,
        "metrics_bytes_after": len(text.encode()),
        "scrape_seconds": round(scrape, 3),
        "lead_id_in_metrics": PERSONAL[0] in text,
        "outcome": f"/metrics {before / 1e3:.0f} KB -> {len(text.encode()) / 1e3:.0f} KB, "
        f"scrape {scrape:.2f} s, lead id in /metrics: {PERSONAL[0] in text}",
    }


def _score(url: str, auth: dict[str, str], lead: dict[str, Any], raw: str | None = None) -> Any:
    body = raw if raw is not None else json.dumps({"leads": [lead], "explain": 1})
    headers = {**auth, "content-type": "application/json"}
    return httpx.post(f"{url}/score", content=body, headers=headers, timeout=60)


def extreme_values(url: str, auth: dict[str, str]) -> dict[str, Any]:
    """Year 9999/0001 in as_of, an event, a deal; an integer attribute of 10^400."""
    base = {"lead_id": "x-1", "attributes": {"industry": "software"}}
    cases = {
        "as_of 9999": {**base, "as_of": "9999-12-31T00:00:00Z"},
        "as_of 0001": {**base, "as_of": "0001-01-01T00:00:00Z"},
        "event 9999": {
            **base,
            "events": [{"event_type": "web_visit", "occurred_at": "9999-12-31T00:00:00Z"}],
        },
        "deal 9999": {
            **base,
            "outcomes": [{"closed_at": "9999-12-31T00:00:00Z", "won": False}],
        },
    }
    out = {}
    for name, lead in cases.items():
        response = _score(url, auth, lead)
        out[name] = [response.status_code, response.text[:160]]
    huge = '{"leads": [{"lead_id": "x-1", "attributes": {"annual_revenue": 1' + "0" * 400 + "}}]}"
    response = _score(url, auth, {}, raw=huge)
    out["annual_revenue 10^400"] = [response.status_code, response.text[:160]]
    return {
        "what": "a lead with as_of, an event or a deal in year 9999 or 0001, or an integer "
        "attribute of 10^400",
        "cases": out,
        "outcome": "; ".join(f"{name}: {status}" for name, (status, _) in out.items()),
    }


def infinity(url: str, auth: dict[str, str]) -> dict[str, Any]:
    """``Infinity`` in a numeric attribute, against the same lead without it."""
    lead = {"lead_id": "inf-1", "attributes": {"industry": "software"}}
    plain = _score(url, auth, lead)
    raw = json.dumps({"leads": [lead], "explain": 1}).replace(
        '"software"}', '"software", "annual_revenue": Infinity}'
    )
    response = _score(url, auth, {}, raw=raw)
    tier = response.json()["scores"][0]["tier"] if response.status_code == 200 else None
    return {
        "what": "`Infinity` in a numeric attribute",
        "status": response.status_code,
        "detail": response.text[:200],
        "outcome": f"{response.status_code}"
        + (f" (tier {tier}; without it {plain.json()['scores'][0]['tier']})" if tier else "")
        + (f": {response.json().get('detail')}" if response.status_code == 422 else ""),
    }


def client_error_logging(url: str, auth: dict[str, str], log: Path) -> dict[str, Any]:
    """Bad requests carrying personal-looking values: log lines, levels, echoes."""
    email, phone, name = PERSONAL
    size = log.stat().st_size
    bad = [
        ("/score", {"leads": [{"lead_id": email, "as_of": phone, "attributes": {"x": name}}]}),
        ("/score", {"leads": [{"lead_id": email, "attributes": {"annual_revenue": phone}}]}),
        ("/score", {"leads": [{"lead_id": name, "events": [{"event_type": email}]}]}),
        ("/leads", {"leads": [{"lead_id": email, "created_at": phone}]}),
        ("/v1/track", {"userId": email, "event": name, "timestamp": phone}),
    ]
    echoed = 0
    for path, body in bad:
        response = httpx.post(f"{url}{path}", json=body, headers=auth, timeout=30)
        echoed += any(value in response.text for value in PERSONAL)
    form = httpx.post(
        f"{url}/score", data={"lead_id": email, "phone": phone, "name": name}, headers=auth
    )
    form_echo = any(value in form.text for value in PERSONAL)
    time.sleep(1.0)
    text = log.read_bytes()[size:].decode(errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    n = len(bad) + 1
    in_log = sorted(value for value in PERSONAL if value in text)
    return {
        "what": "any 4xx (bad requests with personal-looking values)",
        "log_lines_per_request": round(len(lines) / n, 1),
        "log_bytes_per_request": round(len(text.encode()) / n),
        "error_lines": sum("ERROR" in line for line in lines),
        "tracebacks": text.count("Traceback"),
        "personal_values_in_log": in_log,
        "bodies_echoing_personal_values": echoed + form_echo,
        "form_status": form.status_code,
        "outcome": f"{len(lines) / n:.1f} log lines ({len(text.encode()) / n:.0f} B) per bad "
        f"request, {sum('ERROR' in line for line in lines)} at ERROR, "
        f"{text.count('Traceback')} tracebacks, personal values in log: {in_log or 'none'}; "
        f"form body {form.status_code}, echoed: {form_echo}",
    }


def serve_banner(store: Path, env: dict[str, str], key: str, port: int) -> dict[str, Any]:
    """``leadscore serve``'s output: how often the real key appears in it."""
    out = store / "serve-banner.log"
    cli = [sys.executable, "-m", "leadscore.cli", "serve", "--port", str(port)]
    with out.open("wb") as handle:
        process = subprocess.Popen(
            cli, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "Try it" not in out.read_text(errors="replace"):
            time.sleep(0.5)
        time.sleep(1)
        text = out.read_text(errors="replace")
    finally:
        stop(process)  # the CLI, bentoml and its workers
    return {
        "what": "`leadscore serve`",
        "key_shown": text.count(key),
        "outcome": f"the real API key appears {text.count(key)} times in its output",
    }


def locked_score_log(
    url: str, auth: dict[str, str], store_file: Path, seconds: float
) -> dict[str, Any]:
    """Scores served while another process holds the store's write lock: how many reach the
    store, and how the service answers meanwhile."""
    locker = hold_sqlite_lock(store_file, seconds)
    served, slow, failures = 0, [], 0
    stop = time.monotonic() + seconds
    i = 0
    with httpx.Client(headers=auth, timeout=15) as client:
        while time.monotonic() < stop:
            i += 1
            lead = {"lead_id": f"locked-{i}", "attributes": {"industry": "software"}}
            if client.post(f"{url}/score", json={"leads": [lead]}).status_code == 200:
                served += 1
            start = time.perf_counter()
            try:
                client.get(f"{url}/history/locked-1", params={"limit": 1})
            except httpx.TimeoutException:
                failures += 1
            slow.append(time.perf_counter() - start)
            time.sleep(0.05)
    locker.wait(timeout=seconds + 30)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and stored_history(store_file, "locked-") < served:
        time.sleep(1)
    written = stored_history(store_file, "locked-")
    return {
        "what": f"the score log locked for {seconds:.0f} s by another process",
        "served": served,
        "stored": written,
        "history_slowest_seconds": round(max(slow), 2),
        "history_timeouts": failures,
        "outcome": f"{served - written} of {served} served scores missing from the store; "
        f"slowest GET /history {max(slow):.2f} s, {failures} timed out",
    }


def sigterm_under_load(
    url: str, auth: dict[str, str], process: subprocess.Popen[bytes], clients: int, store_file: Path
) -> dict[str, Any]:
    """SIGTERM to the server while ``clients`` keep scoring: resets vs answered requests."""
    import os
    import signal

    answered, resets, refused = [0], [0], [0]
    lock = threading.Lock()
    stop = threading.Event()
    leads = [{"lead_id": f"term-{n}", "attributes": {"industry": "software"}} for n in range(50)]

    def client(n: int) -> None:
        with httpx.Client(headers=auth, timeout=60) as http:
            while not stop.is_set():
                try:
                    ok = http.post(f"{url}/score", json={"leads": leads}).status_code == 200
                    with lock:
                        answered[0] += ok
                except httpx.ConnectError:
                    with lock:
                        refused[0] += 1
                    return  # stopped accepting: the client goes elsewhere
                except httpx.HTTPError:
                    with lock:
                        resets[0] += 1
                    return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=60)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    stored = stored_history(store_file, "term-")
    return {
        "what": f"SIGTERM under {clients} clients",
        "answered": answered[0],
        "resets": resets[0],
        "refused_after_stop": refused[0],
        "scores_stored": stored,
        "scores_answered": answered[0] * len(leads),
        "outcome": f"{resets[0]} in-flight requests reset, {answered[0]} answered "
        f"({stored} of {answered[0] * len(leads)} scores in the store), "
        f"{refused[0]} clients refused after the stop",
    }
