// Sales page, stored leads: open a lead of the lead store by its id (GET /leads/{id}) and show
// its current score (the cards and waterfall of app.js), an event timeline and its score
// history as a small chart. Loaded after app.js, whose call(), showScore() and svg() it uses.
// Everything user-supplied is inserted as text, never as HTML.
"use strict";

const TYPE_COLORS = ["#2f6fec", "#1f9d55", "#d64545", "#b26b00", "#7a4cc2", "#0e8a8a", "#c2417a", "#5b6474"];
const DAY_MS = 86400000;

function storedLeadPath(id) {
  return "/leads/" + encodeURIComponent(id) + "?events=200&history=100";
}

async function openLead() {
  $("error").textContent = "";
  const id = $("lookup-id").value.trim();
  if (!id) return;
  try {
    const body = await call("GET", storedLeadPath(id));
    showStoredLead(body);
  } catch (err) {
    $("stored-lead").hidden = true;
    $("error").textContent = err.message.startsWith("404")
      ? `Lead ${id} is not in the lead store. Paste it as JSON to score it.`
      : err.message;
  }
}

function showStoredLead(body) {
  if (body.score) {
    showScore(body.score);
    $("model-version").textContent = "model v" + body.score.model_version;
    $("lead-title").textContent = `Lead ${body.lead_id}` + (body.account_id ? ` · account ${body.account_id}` : "") +
      ` (scored ${body.score.scored_at.slice(0, 16).replace("T", " ")} UTC)`;
  }
  $("stored-lead").hidden = false;
  const shown = body.events.length;
  $("events-summary").textContent = body.events_total
    ? `${body.events_total} events` + (shown < body.events_total ? ` (latest ${shown} shown)` : "")
    : "No events yet.";
  drawTimeline(body.events);
  listEvents(body.events.slice(0, 20));
  drawHistoryChart(body.history);
}

// One row per event type, one tick per event, time running left to right.
function drawTimeline(events) {
  const host = $("timeline");
  host.replaceChildren();
  if (!events.length) return;
  const times = events.map((e) => Date.parse(e.occurred_at));
  const end = Math.max(...times), start = Math.min(...times, end - 30 * DAY_MS);
  const types = [...new Set(events.map((e) => e.event_type))].sort();
  const labelW = 150, plotW = 460, rowH = 22, width = labelW + plotW + 20, height = rowH * types.length + 30;
  const x = (t) => labelW + ((t - start) / ((end - start) || 1)) * plotW;
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "event timeline" });
  types.forEach((type, row) => {
    const y = 10 + row * rowH;
    chart.appendChild(svg("text", { x: labelW - 8, y: y + 12, "text-anchor": "end" }, type));
    chart.appendChild(svg("line", { x1: labelW, x2: labelW + plotW, y1: y + 8, y2: y + 8, stroke: "#e2e5ea" }));
  });
  events.forEach((e, i) => {
    const row = types.indexOf(e.event_type);
    const mark = svg("rect", {
      x: x(times[i]) - 2, y: 10 + row * rowH, width: 4, height: 16,
      fill: TYPE_COLORS[row % TYPE_COLORS.length], class: "timeline-event",
    });
    mark.appendChild(svg("title", {}, `${e.event_type} · ${e.occurred_at.slice(0, 16).replace("T", " ")}`));
    chart.appendChild(mark);
  });
  const axisY = height - 6;
  chart.appendChild(svg("text", { x: labelW, y: axisY }, new Date(start).toISOString().slice(0, 10)));
  chart.appendChild(svg("text", { x: labelW + plotW, y: axisY, "text-anchor": "end" }, new Date(end).toISOString().slice(0, 10)));
  host.appendChild(chart);
}

function listEvents(events) {
  const head = document.createElement("tr");
  for (const h of ["when (UTC)", "event", "campaign", "channel"]) {
    const th = document.createElement("th"); th.textContent = h; head.appendChild(th);
  }
  const rows = events.map((e) => {
    const tr = document.createElement("tr");
    tr.className = "event-row";
    for (const v of [e.occurred_at.slice(0, 16).replace("T", " "), e.event_type, e.campaign || "", e.channel || ""]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    return tr;
  });
  $("event-list").replaceChildren(head, ...rows);
}

// The score (1-99) over time, oldest to newest; each point says when, which model and why.
function drawHistoryChart(history) {
  const host = $("history-chart");
  host.replaceChildren();
  if (!history.length) { host.textContent = "Not scored yet."; return; }
  const points = history.slice().reverse().map((h) => ({ h, t: Date.parse(h.scored_at) }));
  const first = points[0].t, last = points[points.length - 1].t;
  const left = 34, plotW = 520, plotH = 120, width = left + plotW + 20, height = plotH + 40;
  const x = (t) => left + (points.length === 1 ? plotW / 2 : ((t - first) / ((last - first) || 1)) * plotW);
  const y = (score) => 10 + (1 - score / 100) * plotH;
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "score history" });
  for (const level of [0, 50, 100]) {
    chart.appendChild(svg("line", { x1: left, x2: left + plotW, y1: y(level), y2: y(level), stroke: "#e2e5ea" }));
    chart.appendChild(svg("text", { x: left - 6, y: y(level) + 4, "text-anchor": "end" }, String(level)));
  }
  chart.appendChild(svg("polyline", {
    points: points.map((p) => `${x(p.t)},${y(p.h.score)}`).join(" "), fill: "none", stroke: "#2f6fec", "stroke-width": 2,
  }));
  for (const p of points) {
    const dot = svg("circle", { cx: x(p.t), cy: y(p.h.score), r: 4, class: "history-point tier-" + p.h.tier, fill: "currentColor" });
    dot.appendChild(svg("title", {}, `${p.h.scored_at.slice(0, 16).replace("T", " ")}: score ${p.h.score}, tier ${p.h.tier}, model v${p.h.model_version} (${p.h.cause})`));
    chart.appendChild(dot);
  }
  chart.appendChild(svg("text", { x: left, y: height - 6 }, points[0].h.scored_at.slice(0, 10)));
  chart.appendChild(svg("text", { x: left + plotW, y: height - 6, "text-anchor": "end" }, points[points.length - 1].h.scored_at.slice(0, 10)));
  host.appendChild(chart);
}

$("open-lead").addEventListener("click", openLead);
$("lookup-id").addEventListener("keydown", (event) => { if (event.key === "Enter") openLead(); });
// A pasted lead replaces the stored one on the cards: its timeline and history go away.
$("score").addEventListener("click", () => { $("stored-lead").hidden = true; });
