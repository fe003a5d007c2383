// Sales page: talks to the same authenticated API as any CRM (POST /score, GET /history,
// GET /model; lead.js: GET /leads/{id}). Everything user-supplied is inserted as text, never
// as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";
let examples = {};

function apiKey() {
  const key = $("api-key").value.trim();
  sessionStorage.setItem("leadscore-key", key);
  return key;
}

async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Authorization": "Bearer " + apiKey(), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body)
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(payload.detail) ? payload.detail.join("\n") : "";
    throw new Error(`${response.status} ${payload.error || response.statusText}\n${detail}`);
  }
  return payload;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------------------------------------------------------------- numbers for people
// Probabilities and points are shown in tenths of a percentage point ("2.2 %", "+0.6 pts"):
// at most three significant digits, and one unit for both, so the points add up on screen.

const tenths = (fraction) => Math.round(fraction * 1000);

function formatPercent(t, exact) {
  if (t === 0 && exact > 0) return "< 0.1 %";
  return (t / 10).toFixed(1) + " %";
}

function formatPoints(t) {
  if (t === 0) return "0.0 pts";  // less than the page's resolution: the colour says which way
  return `${t > 0 ? "+" : "−"}${(Math.abs(t) / 10).toFixed(1)} pts`;
}

// Rounds each value (in tenths) so that the rounded values sum to `target`: each value is
// rounded, then the ones whose rounding erred most give or take one tenth until the sum is
// right. The points on screen then add up to the probability on screen.
function roundToTarget(values, target) {
  const rounded = values.map(Math.round);
  const error = values.map((v, i) => v - rounded[i]);
  let gap = target - rounded.reduce((a, b) => a + b, 0);
  while (gap !== 0 && values.length) {
    const step = gap > 0 ? 1 : -1;
    let pick = 0;
    for (let i = 1; i < error.length; i++) {
      if (step * error[i] > step * error[pick]) pick = i;
    }
    rounded[pick] += step;
    error[pick] -= step;
    gap -= step;
  }
  return rounded;
}

// The shown reasons, then everything else, in tenths of a point, adding up exactly to the
// shown probability minus the shown base (null when the model gives no points).
function pointsPlan(score) {
  if (score.base_probability == null || score.reasons.some((r) => r.points == null)) return null;
  const base = tenths(score.base_probability);
  const total = tenths(score.probability);
  const exact = score.reasons.map((r) => r.points * 10);
  const other = (score.probability - score.base_probability) * 1000 - exact.reduce((a, b) => a + b, 0);
  const rounded = roundToTarget([...exact, other], total - base);
  return { base, total, reasons: rounded.slice(0, -1), other: rounded[rounded.length - 1], otherExact: other };
}

function daysBetween(fromIso, toIso) {
  return (new Date(toIso) - new Date(fromIso)) / 86400000;
}

function formatAgo(days) {
  if (days < 1) return "earlier today";
  if (days < 2) return "yesterday";
  if (days < 14) return `${Math.floor(days)} days ago`;
  if (days < 56) return `${Math.floor(days / 7)} weeks ago`;
  return `${Math.max(2, Math.round(days / 30.44))} months ago`;
}

// ---------------------------------------------------------------- what the page shows

function showSummary(score, plan) {
  $("score-value").textContent = String(score.score);
  $("score-rank").textContent = `Better than ${score.score} % of leads`;
  $("tier-value").textContent = score.tier;
  $("tier-value").className = "v tier-" + score.tier;
  const probability = plan ? plan.total : tenths(score.probability);
  $("probability-value").textContent = formatPercent(probability, score.probability);
  const within = score.horizon_days ? ` within ${score.horizon_days} days` : "";
  const typical = plan ? ` · a typical lead: ${formatPercent(plan.base, score.base_probability)}` : "";
  $("probability-text").textContent = `chance to buy${within}${typical}`;
  $("ready-value").textContent = score.sales_ready ? "yes" : "not yet";
  $("fit-bar").style.width = score.fit + "%";
  $("fit-value").textContent = score.fit.toFixed(0) + "/100";
  $("engagement-bar").style.width = score.engagement + "%";
  $("engagement-value").textContent = score.engagement.toFixed(0) + "/100";
  $("why-title").textContent = plan
    ? `Why: from a typical lead's ${formatPercent(plan.base, score.base_probability)} to ${formatPercent(plan.total, score.probability)}`
    : "Why";
}

function showReasons(score, plan) {
  $("reasons").replaceChildren(...score.reasons.map((r, i) => {
    const item = element("li", "reason " + r.direction, r.sentence);
    if (plan) item.appendChild(element("span", "pts", formatPoints(plan.reasons[i])));
    return item;
  }));
}

// A waterfall in probability points: a typical lead's probability, each reason as a step up
// or down from where the previous one ended, everything else, and this lead's probability.
function drawWaterfall(score, plan) {
  const host = $("waterfall");
  host.replaceChildren();
  if (!plan) { host.textContent = "This model gives no probability points."; return; }
  const rows = [{ label: "A typical lead", from: 0, to: plan.base, kind: "level", text: formatPercent(plan.base, score.base_probability), total: true }];
  let at = plan.base;
  score.reasons.forEach((r, i) => {
    const t = plan.reasons[i];
    rows.push({ label: r.label, title: r.sentence, from: at, to: at + t, kind: (t || r.points) >= 0 ? "up" : "down", text: formatPoints(t) });
    at += t;
  });
  if (plan.other !== 0 || Math.abs(plan.otherExact) >= 0.5) {
    rows.push({ label: "Everything else", from: at, to: at + plan.other, kind: (plan.other || plan.otherExact) >= 0 ? "up" : "down", text: formatPoints(plan.other) });
    at += plan.other;
  }
  rows.push({ label: "This lead", from: 0, to: at, kind: "level", text: formatPercent(at, score.probability), total: true });
  const ends = rows.flatMap((row) => [row.from, row.to]);
  const lo = Math.min(0, ...ends), hi = Math.max(...ends);
  const x = (v) => (100 * (v - lo)) / ((hi - lo) || 1);
  for (const row of rows) {
    const label = element("div", "label" + (row.total ? " total" : ""), row.label);
    if (row.title) label.title = row.title;
    const track = element("div", "track");
    const span = element("div", "span waterfall-bar " + row.kind);
    span.style.left = x(Math.min(row.from, row.to)) + "%";
    span.style.width = Math.abs(x(row.to) - x(row.from)) + "%";
    if (row.title) span.title = row.title;
    track.appendChild(span);
    host.append(label, track, element("div", "pts " + row.kind, row.text));
  }
}

function showChanges(score) {
  const host = $("changes");
  const changes = score.changes;
  host.hidden = !changes;
  if (!changes) { host.replaceChildren(); return; }
  const before = tenths(changes.previous_probability), now = tenths(score.probability);
  const when = formatAgo(daysBetween(changes.previous_as_of, score.as_of));
  const summary = `Last scored as of ${changes.previous_as_of.slice(0, 10)} (${when}, model v${changes.previous_model_version}): ` +
    `${formatPercent(before, changes.previous_probability)}, now ${formatPercent(now, score.probability)}.`;
  const causes = element("ul", "causes");
  causes.replaceChildren(...changes.causes.map((c) => element("li", "cause", c.text)));
  const table = element("table");
  const head = element("tr");
  for (const h of ["Reason", "Then", "Now"]) head.appendChild(element("th", "", h));
  table.appendChild(head);
  // A reason whose points read the same at the page's resolution did not visibly move.
  const moved = changes.reasons.filter((r) => tenths(r.points_before / 100) !== tenths(r.points_after / 100));
  for (const r of moved) {
    const tr = element("tr", "moved");
    const b = tenths(r.points_before / 100), a = tenths(r.points_after / 100);
    tr.append(element("td", "", r.sentence), element("td", "pts " + (r.points_before >= 0 ? "up" : "down"), formatPoints(b)),
      element("td", "pts " + (r.points_after >= 0 ? "up" : "down"), formatPoints(a)));
    table.appendChild(tr);
  }
  const shown = moved.length ? [table] : [element("p", "", "No reason moved by 0.1 points or more.")];
  host.replaceChildren(element("h3", "", "What changed since the last score"), element("p", "", summary), causes, ...shown);
}

function showScore(score) {
  $("result").hidden = false;
  $("lead-title").textContent = `Lead ${score.lead_id} (as of ${score.as_of.slice(0, 10)})`;
  const plan = pointsPlan(score);
  showSummary(score, plan);
  showReasons(score, plan);
  drawWaterfall(score, plan);
  showChanges(score);
}

// ---------------------------------------------------------------- actions

async function scoreLead() {
  $("error").textContent = "";
  let lead;
  try { lead = JSON.parse($("lead-json").value); } catch (err) {
    $("error").textContent = "The lead is not valid JSON: " + err.message; return;
  }
  try {
    const explain = Number($("explain").value) || 5;
    const body = await call("POST", "/score", { leads: [lead], explain });
    $("model-version").textContent = "model v" + body.model_version;
    showScore(body.scores[0]);
  } catch (err) { $("error").textContent = err.message; }
}

async function lookup() {
  $("error").textContent = "";
  const id = $("lookup-id").value.trim();
  if (!id) return;
  try {
    const body = await call("GET", "/history/" + encodeURIComponent(id));
    const rows = body.scores.map((s) => {
      const tr = document.createElement("tr");
      for (const v of [s.scored_at.slice(0, 19), "v" + s.model_version, formatPercent(tenths(s.probability), s.probability), s.tier]) {
        tr.appendChild(element("td", "", v));
      }
      return tr;
    });
    const head = document.createElement("tr");
    for (const h of ["served at", "model", "chance to buy", "tier"]) head.appendChild(element("th", "", h));
    $("history").replaceChildren(head, ...rows);
    if (!rows.length) $("error").textContent = `No served scores for ${id} yet: paste the lead to score it.`;
  } catch (err) { $("error").textContent = err.message; }
}

function useExample(name) {
  if (examples[name]) $("lead-json").value = JSON.stringify(examples[name], null, 2);
}

async function loadExamples() {
  const response = await fetch("/sales/examples.json");
  if (!response.ok) return;
  examples = await response.json();
  if (!$("lead-json").value) useExample("hot");
}

$("api-key").value = sessionStorage.getItem("leadscore-key") || new URLSearchParams(location.hash.slice(1)).get("key") || "";
$("score").addEventListener("click", scoreLead);
$("lookup").addEventListener("click", lookup);
for (const button of document.querySelectorAll("[data-example]")) {
  button.addEventListener("click", () => useExample(button.dataset.example));
}
loadExamples();
