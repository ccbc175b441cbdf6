"""The review page: one HTML document, its script reads pairs and posts judgements (no build step).
Patient values are set as text, never as markup."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OncoBench review: {{TITLE}}</title>
<style>
 body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:1200px}
 .pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
 .card{border:1px solid #bbb;border-radius:8px;padding:0.8rem}
 table{border-collapse:collapse;width:100%} td{border-bottom:1px solid #eee;padding:2px 6px;font-size:0.9rem}
 td:first-child{color:#555;width:45%} button{font-size:1rem;margin:0.3rem;padding:0.4rem 0.8rem}
 #error{color:#b00020} .keys{color:#555}
</style></head><body>
<h1>Which synthetic patient is more clinically plausible?</h1>
<p>Release <b>{{TITLE}}</b>. <span class="keys">Keys: ← left · → right · ↓ both implausible</span></p>
<div id="start"><label>Reviewer id <input id="reviewer" autocomplete="username"></label>
 <button id="begin">Start</button></div>
<p id="error" role="alert"></p>
<div id="review" hidden>
 <p>Judged by you: <b id="count">0</b> · by everyone: <b id="total">0</b></p>
 <div class="pair">
  <div class="card" id="left"><h2>Patient A</h2><table></table><ul class="lines"></ul></div>
  <div class="card" id="right"><h2>Patient B</h2><table></table><ul class="lines"></ul></div>
 </div>
 <button id="pick-left">← A is more plausible</button><button id="pick-right">B is more plausible →</button>
 <button id="pick-both">↓ both implausible</button>
</div>
<script>
let pair = null, reviewer = null, busy = false;
const $ = (id) => document.getElementById(id);
const said = (detail) => typeof detail === "string" ? detail : JSON.stringify(detail);
function fill(card, patient) {
  const table = card.querySelector("table"), lines = card.querySelector(".lines");
  table.replaceChildren(); lines.replaceChildren();
  for (const [key, value] of Object.entries(patient.fields)) {
    const row = table.insertRow(); row.insertCell().textContent = key; row.insertCell().textContent = value;
  }
  for (const line of patient.lines) {
    const item = document.createElement("li"); item.textContent = line; lines.append(item);
  }
  card.dataset.patient = patient.id;
}
async function load() {
  const response = await fetch("/api/pair?reviewer=" + encodeURIComponent(reviewer));
  const body = await response.json();
  if (!response.ok) {
    $("error").textContent = said(body.detail); $("review").hidden = true; $("start").hidden = false; return;
  }
  pair = body; fill($("left"), body.left); fill($("right"), body.right);
  $("count").textContent = body.judged; $("total").textContent = body.judged_by_all; $("error").textContent = "";
  $("review").dataset.judged = body.judged;  // the pair on screen is the one to judge next
}
async function judge(choice) {
  if (!pair || busy) return;
  busy = true;
  try {
    const response = await fetch("/api/judgements", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({reviewer, left: pair.left.id, right: pair.right.id, choice, token: pair.token})});
    if (!response.ok) { $("error").textContent = said((await response.json()).detail); return; }
    await load();
  } finally { busy = false; }
}
$("begin").onclick = async () => {
  reviewer = $("reviewer").value.trim(); localStorage.setItem("oncobench-reviewer", reviewer);
  $("start").hidden = true; $("review").hidden = false; await load();
};
$("reviewer").value = localStorage.getItem("oncobench-reviewer") || "";
$("pick-left").onclick = () => judge("left"); $("pick-right").onclick = () => judge("right");
$("pick-both").onclick = () => judge("both_implausible");
document.addEventListener("keydown", (event) => {
  if ($("review").hidden) return;
  const choice = {ArrowLeft: "left", ArrowRight: "right", ArrowDown: "both_implausible"}[event.key];
  if (choice) { event.preventDefault(); judge(choice); }
});
</script></body></html>
"""
