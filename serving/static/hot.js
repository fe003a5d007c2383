// Sales page, "just became hot": the latest lead.sales_ready and lead.reemerged alerts
// (GET /alerts/hot), newest first; a click opens the lead (lead.js). Alerts link here as
// /sales#lead=ID, which opens that lead. Loaded after app.js and lead.js, whose $, call() and
// openLead() it uses. Everything user-supplied is inserted as text, never as HTML.
"use strict";

const HOT_LABELS = { "lead.sales_ready": "sales-ready", "lead.reemerged": "back in market" };

async function loadHot() {
  if (!$("api-key").value.trim()) return;
  let body;
  try {
    body = await call("GET", "/alerts/hot?limit=20");
  } catch (err) {
    $("hot-status").textContent = err.message.split("\n")[0];
    return;
  }
  const list = $("hot-list");
  list.replaceChildren();
  $("hot-status").textContent = body.leads.length ? "" : "No lead became hot yet.";
  for (const hot of body.leads) {
    const item = document.createElement("li");
    item.className = "hot-lead";
    const link = document.createElement("a");
    link.href = "#lead=" + encodeURIComponent(hot.lead_id);
    link.textContent = hot.lead_id;
    link.addEventListener("click", () => openById(hot.lead_id));
    const badge = document.createElement("span");
    badge.className = "hot-type";
    badge.textContent = HOT_LABELS[hot.type] || hot.type;
    const score = document.createElement("span");
    score.className = "tier-" + hot.tier;
    score.textContent = ` ${hot.score} (${hot.tier})` +
      (hot.previous_score === null ? "" : ` from ${hot.previous_score}`);
    const when = document.createElement("small");
    when.textContent = " " + hot.at.slice(0, 16).replace("T", " ") + " UTC" +
      (hot.top_reason ? " · " + hot.top_reason : "");
    item.append(link, " ", badge, score, when);
    list.append(item);
  }
}

function openById(id) {
  $("lookup-id").value = id;
  openLead();
}

function openFromHash() {
  const id = new URLSearchParams(location.hash.slice(1)).get("lead");
  if (id) openById(id);
}

$("refresh-hot").addEventListener("click", loadHot);
$("api-key").addEventListener("change", loadHot);
window.addEventListener("hashchange", openFromHash);
loadHot();
openFromHash();
setInterval(loadHot, 30000);
