// The training dashboard: polls the daemon's JSON routes (the session cookie goes with
// them) and draws the jobs, the selected job's loss curve and eval gate, the experts and
// the continual updates. Everything the daemon sends is put in the page as text, never
// as HTML.
"use strict";

const POLL_MS = 2000;
const SVG_NS = "http://www.w3.org/2000/svg";
const TRAINING_KINDS = ["finetune", "continual", "train-experts"];
const SET_KIND = "train-experts"; // publishes an expert set (its scores), not an adapter version
const state = { jobs: [], experts: [], selected: "", history: null, picked: false };

// -- small helpers ----------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function table(headers, rows) {
  const head = el("tr", {}, headers.map(([label, cls]) => el("th", { class: cls || "", text: label })));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, rows));
}

function num(value, digits = 4) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e-3 || value === 0 ? value.toPrecision(digits) : value.toExponential(2);
}

function short(id) { return (id || "").slice(0, 8); }
function commit(sha) { return sha ? sha.slice(0, 10) : "–"; }

function when(seconds) {
  if (!seconds) return "–";
  const d = new Date(seconds * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

async function getJSON(path) {
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) throw new Error("the session ended: open the dashboard's token URL again");
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// -- data ---------------------------------------------------------------------------------

function defaultJob(jobs) {
  const trained = jobs.find((j) => TRAINING_KINDS.includes(j.kind) && j.state !== "queued");
  return (trained || jobs[0] || { id: "" }).id;
}

function selectedJob() { return state.jobs.find((j) => j.id === state.selected) || null; }

function versionOf(adapter, version) {
  const expert = state.experts.find((e) => e.name === adapter);
  return expert ? expert.versions.find((v) => v.version === version) || null : null;
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [jobs, experts] = await Promise.all([getJSON("/v1/jobs"), getJSON("/v1/experts")]);
    state.jobs = jobs.slice().reverse();
    state.experts = experts;
    const wanted = decodeURIComponent(location.hash.replace(/^#job=/, ""));
    if (wanted && state.jobs.some((j) => j.id === wanted)) state.selected = wanted;
    if (!state.jobs.some((j) => j.id === state.selected)) state.selected = defaultJob(state.jobs);
    state.history = state.selected ? await getJSON(`/v1/jobs/${state.selected}/metrics`) : null;
    render();
    status.textContent = `updated ${new Date().toLocaleTimeString()} · ${jobs.length} job(s)`;
    status.className = "";
  } catch (error) {
    status.textContent = String(error.message || error);
    status.className = "error";
  }
}

function select(jobId) {
  state.selected = jobId;
  window.history.replaceState(null, "", `#job=${encodeURIComponent(jobId)}`);
  refresh();
}

// -- jobs ---------------------------------------------------------------------------------

function progressCell(job) {
  const p = job.progress || {};
  if (job.state !== "running" || !p.stage) {
    return el("td", { class: job.error ? "small worse" : "small", text: job.error || "" });
  }
  const share = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const fill = el("span");
  fill.style.width = `${Math.round(share * 100)}%`;
  const left = p.seconds_left ? ` · about ${duration(p.seconds_left)} left` : "";
  return el(
    "td",
    {},
    el("div", {}, el("span", { class: "bar" }, fill), `${p.stage} ${p.done}/${p.total}`),
    el("div", { class: "small", text: (p.message || "") + left }),
  );
}

function outcome(job) {
  const r = job.result || {};
  if (job.state !== "succeeded") return "";
  if (r.published === true) return r.version ? `published ${r.version}` : "done";
  if (r.published === false) return "kept out of service";
  return "done";
}

function renderJobs() {
  const box = document.getElementById("jobs");
  if (!state.jobs.length) {
    box.replaceChildren(el("p", { class: "empty", text: "No jobs yet: mochi trainer submit finetune" }));
    return;
  }
  const rows = state.jobs.map((job) => {
    const ran = job.started_at ? (job.finished_at || Date.now() / 1000) - job.started_at : null;
    return el(
      "tr",
      { "data-job-id": job.id, class: job.id === state.selected ? "selected" : "", onclick: () => select(job.id) },
      el("td", { class: "mono", text: short(job.id) }),
      el("td", { text: job.kind }),
      el("td", { text: job.adapter }),
      el("td", {}, el("span", { class: `badge state-${job.state}`, text: job.state })),
      progressCell(job),
      el("td", { text: outcome(job) }),
      el("td", { class: "small", text: when(job.created_at) }),
      el("td", { class: "small", text: job.started_at ? `${when(job.started_at)} · ${duration(ran)}` : "–" }),
    );
  });
  box.replaceChildren(
    table([["job"], ["kind"], ["adapter"], ["state"], ["stage"], ["outcome"], ["queued"], ["started · ran"]], rows),
  );
}

// -- loss curve ---------------------------------------------------------------------------

function lossChart(steps) {
  const W = 720, H = 260, left = 56, right = 56, top = 12, bottom = 30;
  const plotted = steps.filter((s) => s.loss !== null);
  const losses = plotted.map((s) => s.loss);
  let lo = Math.min(...losses), hi = Math.max(...losses);
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.06;
  lo -= pad; hi += pad;
  const first = steps[0].step, last = Math.max(steps[steps.length - 1].step, first + 1);
  const lrMax = Math.max(...steps.map((s) => s.lr), 1e-12);
  const x = (step) => left + ((step - first) / (last - first)) * (W - left - right);
  const y = (loss) => top + (1 - (loss - lo) / (hi - lo)) * (H - top - bottom);
  const yLr = (lr) => top + (1 - lr / lrMax) * (H - top - bottom);

  const chart = svg("svg", { id: "loss-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "training loss per step" });
  for (let i = 0; i <= 4; i++) {
    const value = lo + ((hi - lo) * i) / 4;
    chart.append(svg("line", { class: "grid", x1: left, x2: W - right, y1: y(value), y2: y(value) }));
    chart.append(svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, num(value, 3)));
  }
  chart.append(svg("line", { class: "axis", x1: left, x2: W - right, y1: H - bottom, y2: H - bottom }));
  chart.append(svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: H - bottom }));
  for (const step of [...new Set([first, Math.round((first + last) / 2), last])]) {
    chart.append(svg("text", { x: x(step), y: H - bottom + 16, "text-anchor": "middle" }, String(step)));
  }
  chart.append(svg("text", { x: W - right + 6, y: yLr(lrMax) + 4 }, num(lrMax, 2)));
  chart.append(svg("text", { x: W - right + 6, y: yLr(0) }, "lr 0"));
  chart.append(svg("text", { x: (W - left - right) / 2 + left, y: H - 2, "text-anchor": "middle" }, "optimizer step"));

  let d = "", lrD = "", gap = true;
  for (const s of steps) {
    if (s.loss === null) { gap = true; continue; }
    d += `${gap ? "M" : "L"}${x(s.step).toFixed(1)},${y(s.loss).toFixed(1)} `;
    gap = false;
  }
  steps.forEach((s, i) => { lrD += `${i ? "L" : "M"}${x(s.step).toFixed(1)},${yLr(s.lr).toFixed(1)} `; });
  chart.append(svg("path", { id: "lr-path", class: "lr", d: lrD.trim() }));
  chart.append(svg("path", { id: "loss-path", class: "loss", d: d.trim(), "data-points": plotted.length }));
  return chart;
}

function renderLoss() {
  const job = selectedJob();
  const box = document.getElementById("loss");
  document.getElementById("loss-title").textContent = job
    ? `Training loss · job ${short(job.id)} (${job.kind}, ${job.adapter})`
    : "Training loss";
  const steps = (state.history && state.history.steps) || [];
  if (!job || !steps.length) {
    box.replaceChildren(el("p", { class: "empty", text: job ? "This job has no training steps (yet)." : "No job selected." }));
    return;
  }
  const lastStep = steps[steps.length - 1];
  const recent = steps.slice(-10).filter((s) => s.loss !== null);
  const mean = recent.reduce((a, s) => a + s.loss, 0) / Math.max(1, recent.length);
  box.replaceChildren(
    lossChart(steps),
    el(
      "div",
      { class: "legend" },
      el("span", {}, el("span", { class: "swatch" }), "loss"),
      el("span", {}, el("span", { class: "swatch lr" }), "learning rate"),
      el("span", { id: "loss-summary", text: `${steps.length} steps · last loss ${num(lastStep.loss)} · mean of the last ${recent.length}: ${num(mean)} · lr ${num(lastStep.lr, 3)}` }),
    ),
  );
}

// -- eval gate ----------------------------------------------------------------------------

const GATE_ROWS = [
  ["held-out loss", "loss", "lower"],
  ["next-line exact match", "next_line_em", "higher"],
  ["held-out samples", "count", ""],
  ["future commits: edit similarity", "future_edit_similarity", "higher"],
  ["future commits: exact match", "future_exact_match", "higher"],
  ["future commits: lines", "future_tasks", ""],
];

function compare(mine, theirs, better) {
  if (!better || mine === undefined || theirs === undefined || mine === null || theirs === null) return "";
  if (mine === theirs) return "";
  return (better === "lower" ? mine < theirs : mine > theirs) ? "better" : "worse";
}

function renderGate() {
  const box = document.getElementById("gate");
  const job = selectedJob();
  const r = (job && job.result) || {};
  if (!job || !r.metrics) {
    const why = !job ? "No job selected." :
      job.state === "succeeded" ? (r.reason || "This job has no gate.") :
      TRAINING_KINDS.includes(job.kind) ? "The gate scores the new version once training ends." :
      "This job has no gate.";
    box.replaceChildren(el("p", { class: "empty", text: why }));
    return;
  }
  const previous = r.previous_metrics || {};
  const reference = r.gate_reference || (r.previous_version ? `${r.previous_version} (in service)` : "no version in service");
  const rows = GATE_ROWS.filter(([, key]) => key in r.metrics || key in previous).map(([label, key, better]) =>
    el(
      "tr",
      { "data-score": key },
      el("td", { text: label }),
      el("td", { class: `num ${compare(r.metrics[key], previous[key], better)}`, text: num(r.metrics[key]) }),
      el("td", { class: "num", text: num(previous[key]) }),
    ));
  const held = r.held_out_commits || {};
  const published = r.published === true;
  box.replaceChildren(
    table([["score"], ["new version", "num"], [reference, "num"]], rows),
    held.commits ? el("p", { class: "small", text: `held out: the newest ${held.commits} commit(s), ${commit(held.cut)}..${commit(held.head)}, ${held.tasks} line(s) to complete` }) : null,
    el(
      "div",
      { id: "gate-decision", class: `decision ${published ? "published" : "refused"}` },
      el("strong", { text: published ? `Published as ${r.version}` : "Kept out of service" }),
      el("div", { class: "small", text: r.reason || "" }),
    ),
  );
}

// -- experts and continual updates --------------------------------------------------------

function renderExperts() {
  const box = document.getElementById("experts");
  if (!state.experts.length) {
    box.replaceChildren(el("p", { class: "empty", text: "No adapter published yet." }));
    return;
  }
  box.replaceChildren(...state.experts.map((expert) => {
    const rows = expert.versions.slice().reverse().map((v) => el(
      "tr",
      {},
      el("td", { class: v.current ? "current" : "", text: v.current ? `${v.version} ★ in service` : v.version }),
      el("td", { text: v.job_kind || "–" }),
      el("td", { class: "mono", text: commit(v.commit) }),
      el("td", { class: "mono", text: v.commit_range.length ? v.commit_range.map(commit).join("..") : "–" }),
      el("td", { text: v.previous_version || "–" }),
      el("td", { text: `${v.strategy || "?"} · ${v.steps} steps` }),
      el("td", { class: "num", text: num(v.metrics.loss) }),
      el("td", { class: "num", text: num(v.metrics.future_edit_similarity) }),
      el("td", { class: "small", text: when(v.created_at) }),
    ));
    const where = expert.workspaces.length ? ` (${expert.workspaces.join(", ")})` : "";
    return el(
      "div",
      { class: "expert", "data-expert": expert.name },
      el("h3", {}, `${expert.name} `, el("span", { class: "small", text: `in service: ${expert.current || "none"} · base model ${expert.base_model}` })),
      el("p", { class: "small", text: `One domain: the whole repository${where}. Every version learns all of it; the language server sends a file to an expert by its rules (path globs), by language name, else to "default". Experts per domain are not trained yet.` }),
      table([["version"], ["trained by"], ["up to commit"], ["commits learnt"], ["continues"], ["training"], ["held-out loss", "num"], ["edit similarity", "num"], ["published"]], rows),
    );
  }));
}

function change(before, after, better) {
  if (after === undefined) return "–";
  const arrow = before === undefined ? num(after) : `${num(before)} → ${num(after)}`;
  return el("span", { class: compare(after, before, better), text: arrow });
}

function renderUpdates() {
  const box = document.getElementById("updates");
  const jobs = state.jobs.filter((j) => TRAINING_KINDS.includes(j.kind) && j.state === "succeeded");
  if (!jobs.length) {
    box.replaceChildren(el("p", { class: "empty", text: "No training job has finished yet." }));
    return;
  }
  const rows = jobs.map((job) => {
    const r = job.result || {};
    const m = r.metrics || r.scores || {}, p = r.previous_metrics || {};
    const version = r.published && job.kind !== SET_KIND ? versionOf(job.adapter, r.version) : null;
    const range = version && version.commit_range.length ? version.commit_range.map(commit).join("..") : `up to ${commit(r.commit)}`;
    const result = r.published ? `published ${r.version}` : r.metrics ? "kept out" : "nothing to learn";
    return el(
      "tr",
      { "data-update": job.id },
      el("td", { class: "small", text: when(job.finished_at) }),
      el("td", { text: `${job.kind} · ${job.adapter}` }),
      el("td", { class: "mono", text: r.metrics || r.commit ? range : "–" }),
      el("td", { class: r.published ? "better" : "", text: result }),
      el("td", { class: "num" }, change(p.loss, m.loss, "lower")),
      el("td", { class: "num" }, change(p.future_edit_similarity, m.future_edit_similarity, "higher")),
      el("td", { class: "small", text: r.reason || "" }),
    );
  });
  box.replaceChildren(
    table([["finished"], ["job"], ["commits"], ["outcome"], ["held-out loss", "num"], ["edit similarity", "num"], ["why"]], rows),
  );
}

function render() {
  renderJobs();
  renderLoss();
  renderGate();
  renderExperts();
  renderUpdates();
}

refresh();
setInterval(refresh, POLL_MS);
