// Sales page: talks to the same authenticated API as any CRM (POST /score, GET /history,
// GET /model). Everything user-supplied is inserted as text, never as HTML.
"use strict";

const EXAMPLE = {
  lead_id: "demo-lead-1",
  attributes: { industry: "software", company_size: "51-200", country: "DE", lead_source: "webinar" },
  events: [
    { event_type: "web_visit", occurred_at: "2026-02-10T09:00:00Z" },
    { event_type: "pricing_page_view", occurred_at: "2026-02-18T14:30:00Z" },
    { event_type: "demo_request", occurred_at: "2026-02-19T08:15:00Z" }
  ]
};

const $ = (id) => document.getElementById(id);
const SVG_NS = "http://www.w3.org/2000/svg";

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

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Each reason is a bar starting where the previous one ended: the cumulative walk from the
// model's baseline shows how far each fact pushed this lead up or down.
function drawWaterfall(reasons) {
  const host = $("waterfall");
  host.replaceChildren();
  if (!reasons.length) { host.textContent = "No reasons requested."; return; }
  let running = 0;
  const steps = reasons.map((r) => { const start = running; running += r.impact; return { r, start, end: running }; });
  const lo = Math.min(0, ...steps.map((s) => Math.min(s.start, s.end)));
  const hi = Math.max(0, ...steps.map((s) => Math.max(s.start, s.end)));
  const labelW = 190, plotW = 420, rowH = 28, width = labelW + plotW + 70;
  const height = rowH * (steps.length + 1) + 10;
  const x = (v) => labelW + ((v - lo) / ((hi - lo) || 1)) * plotW;
  const chart = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "reason waterfall" });
  chart.appendChild(svg("line", { x1: x(0), x2: x(0), y1: 0, y2: height, stroke: "#99a", "stroke-dasharray": "3 3" }));
  steps.forEach((s, i) => {
    const y = 8 + i * rowH;
    const left = x(Math.min(s.start, s.end));
    const w = Math.max(2, Math.abs(x(s.end) - x(s.start)));
    const up = s.r.direction === "up";
    chart.appendChild(svg("text", { x: labelW - 8, y: y + 15, "text-anchor": "end" }, s.r.label));
    const bar = svg("rect", { x: left, y, width: w, height: rowH - 8, fill: up ? "#1f9d55" : "#d64545", class: "waterfall-bar" });
    bar.appendChild(svg("title", {}, s.r.sentence));
    chart.appendChild(bar);
    chart.appendChild(svg("text", { x: left + w + 6, y: y + 15 }, (up ? "+" : "") + s.r.impact.toFixed(2)));
  });
  const yTotal = 8 + steps.length * rowH;
  chart.appendChild(svg("text", { x: labelW - 8, y: yTotal + 15, "text-anchor": "end", "font-weight": "bold" }, "Total"));
  chart.appendChild(svg("rect", { x: x(Math.min(0, running)), y: yTotal, width: Math.max(2, Math.abs(x(running) - x(0))), height: rowH - 8, fill: "#2f6fec" }));
  host.appendChild(chart);
}

function showScore(score) {
  $("result").hidden = false;
  $("lead-title").textContent = `Lead ${score.lead_id} (as of ${score.as_of.slice(0, 10)})`;
  $("score-value").textContent = String(score.score);
  $("tier-value").textContent = score.tier;
  $("tier-value").className = "v tier-" + score.tier;
  $("probability-value").textContent = (100 * score.probability).toFixed(1) + "%";
  $("ready-value").textContent = score.sales_ready ? "yes" : "not yet";
  $("fit-bar").style.width = score.fit + "%";
  $("fit-value").textContent = score.fit.toFixed(0) + "/100";
  $("engagement-bar").style.width = score.engagement + "%";
  $("engagement-value").textContent = score.engagement.toFixed(0) + "/100";
  const list = $("reasons");
  list.replaceChildren(...score.reasons.map((r) => {
    const item = document.createElement("li");
    item.className = "reason reason-" + r.direction;
    item.textContent = `${r.sentence} (${r.impact >= 0 ? "+" : ""}${r.impact.toFixed(2)})`;
    return item;
  }));
  drawWaterfall(score.reasons);
}

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
      for (const v of [s.scored_at.slice(0, 19), "v" + s.model_version, (100 * s.probability).toFixed(1) + "%", s.tier]) {
        const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
      }
      return tr;
    });
    const head = document.createElement("tr");
    for (const h of ["served at", "model", "probability", "tier"]) {
      const th = document.createElement("th"); th.textContent = h; head.appendChild(th);
    }
    $("history").replaceChildren(head, ...rows);
    if (!rows.length) $("error").textContent = `No served scores for ${id} yet: paste the lead to score it.`;
  } catch (err) { $("error").textContent = err.message; }
}

$("lead-json").value = JSON.stringify(EXAMPLE, null, 2);
$("api-key").value = sessionStorage.getItem("leadscore-key") || new URLSearchParams(location.hash.slice(1)).get("key") || "";
$("score").addEventListener("click", scoreLead);
$("lookup").addEventListener("click", lookup);
