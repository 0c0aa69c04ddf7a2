// Switchboard console: plain JavaScript, no library, no build step. Served from the binary.
// Everything shown comes from the gateway as JSON and is put in the page as text (never as HTML).
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child != null) node.append(child);
  }
  return node;
}

// ---------------------------------------------------------------- login page

function startLogin() {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const token = document.getElementById("token").value;
    try {
      const reply = await fetch("/console/session", {
        method: "POST", headers: { Authorization: "Bearer " + token }, cache: "no-store",
      });
      if (reply.status === 204) {
        location.replace("/console");
        return;
      }
      error.textContent = reply.status === 401 ? "That is not the admin token." : "Sign-in failed: HTTP " + reply.status;
    } catch (e) {
      error.textContent = "The gateway did not answer: " + e.message;
    }
  });
}

// ---------------------------------------------------------------- console page

const WINDOW_MS = 10 * 60 * 1000;
const BUCKET_MS = 10 * 1000;
const BUCKETS = WINDOW_MS / BUCKET_MS;
const MAX_ROWS = 200;

const feedState = { count: 0, dropped: 0, events: [] };  // events: {at, provider, status, error, latency}
let loadedState = null;

function startConsole() {
  document.getElementById("logout").addEventListener("click", async () => {
    await fetch("/console/session", { method: "DELETE", cache: "no-store" });
    location.replace("/console");
  });
  document.getElementById("state-refresh").addEventListener("click", loadState);
  for (const radio of document.querySelectorAll("input[name=via]")) radio.addEventListener("change", fillTargets);
  document.getElementById("test-form").addEventListener("submit", sendTest);
  loadState();
  setInterval(loadState, 15000);
  openFeed();
  setInterval(drawCharts, 2000);
  window.addEventListener("resize", drawCharts);
}

// ---- loaded state

async function loadState() {
  let state;
  try {
    const reply = await fetch("/console/state", { cache: "no-store" });
    if (reply.status === 401) return location.replace("/console");
    state = await reply.json();
  } catch (e) {
    document.getElementById("state-summary").textContent = "state unavailable: " + e.message;
    return;
  }
  const first = loadedState == null;
  loadedState = state;
  renderSummary(state);
  renderLoaded(state);
  if (first) fillTargets();
}

function timeOf(ms) {
  return ms == null ? null : new Date(ms).toLocaleTimeString();
}

function renderSummary(state) {
  const summary = document.getElementById("state-summary");
  summary.replaceChildren();
  const part = (label, value) => summary.append(label + " ", el("b", { text: String(value) }), "   ");
  part("generation", state.generation);
  part("providers", (state.providers || []).length);
  part("scripts", (state.scripts || []).length);
  part("plugins", (state.plugins || []).length);
  part("configs", (state.configs || []).length);
  part("last reload", state.last_reload_at_ms ? timeOf(state.last_reload_at_ms) : "none since start");
  part("reloads", state.reloads + " ok / " + state.failed_reloads + " failed");
  const banner = document.getElementById("reload-error");
  banner.hidden = !state.last_error;
  banner.textContent = state.last_error ? "The last reload failed; generation " + state.generation +
    " stays live.\n" + state.last_error : "";
}

function renderLoaded(state) {
  const box = document.getElementById("loaded");
  box.replaceChildren();
  const providers = el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "provider" }), el("th", { text: "file" }),
    el("th", { text: "base URL" }))));
  const body = el("tbody");
  for (const p of state.provider_details || []) {
    body.append(el("tr", {}, el("td", { text: p.id }), el("td", { class: "mono", text: p.file }),
      el("td", { class: "mono", text: p.base_url || "—" })));
  }
  providers.append(body);
  box.append(el("div", { class: "loaded-group" }, el("h3", { text: "providers · generation " + state.generation }),
    el("div", { class: "provider-list" }, providers)));
  const chips = (title, items, extra) => {
    const list = el("div", { class: "chips" });
    for (const item of items || []) list.append(el("span", { class: "chip", text: item }));
    if (!items || items.length === 0) list.append(el("span", { class: "muted small", text: "none" }));
    box.append(el("div", { class: "loaded-group" }, el("h3", { text: title + (extra || "") }), list));
  };
  chips("scripts", state.scripts);
  chips("check plugins", state.plugins);
  chips("routing configs", state.configs, state.default_config ? " · default: " + state.default_config : "");
  const libraries = el("div", { class: "chips" });
  for (const item of state.libraries || []) libraries.append(el("span", { class: "chip", text: item }));
  box.append(el("details", { class: "loaded-group" },
    el("summary", { text: "libraries and converters (" + (state.libraries || []).length + ")" }), libraries));
}

function fillTargets() {
  const via = document.querySelector("input[name=via]:checked").value;
  const select = document.getElementById("test-target");
  select.replaceChildren();
  const items = loadedState ? (via === "config" ? loadedState.configs : loadedState.providers) : [];
  for (const item of items || []) select.append(el("option", { value: item, text: item }));
  if (via === "provider" && (items || []).includes("openai")) select.value = "openai";
}

// ---- the feed

function openFeed() {
  const live = document.getElementById("live");
  const source = new EventSource("/console/feed");
  source.addEventListener("hello", () => { live.textContent = "live"; live.className = "live on"; });
  source.addEventListener("request", (event) => addRequest(JSON.parse(event.data)));
  source.addEventListener("dropped", (event) => {
    feedState.dropped += JSON.parse(event.data).count;
    document.getElementById("feed-dropped").textContent = feedState.dropped;
  });
  source.addEventListener("end", () => { live.textContent = "gateway shutting down"; live.className = "live off"; });
  source.onerror = () => {
    live.textContent = source.readyState === EventSource.CLOSED ? "disconnected" : "reconnecting…";
    live.className = "live off";
  };
}

function fmtMs(value) {
  if (value == null) return "";
  return value >= 1000 ? (value / 1000).toFixed(2) + " s" : value.toFixed(value < 10 ? 2 : 1) + " ms";
}

function fmtCost(value) {
  if (value == null) return "";
  return "$" + (value < 0.01 ? value.toPrecision(2) : value.toFixed(4));
}

function addRequest(r) {
  feedState.count += 1;
  document.getElementById("feed-count").textContent = feedState.count;
  const at = Date.parse(r.time) || Date.now();
  feedState.events.push({ at, provider: r.provider || "none", status: r.status, error: r.error, latency: r.latency_ms });
  const cutoff = Date.now() - WINDOW_MS;
  while (feedState.events.length && feedState.events[0].at < cutoff) feedState.events.shift();

  const statusClass = r.status >= 500 || r.error ? "s5" : r.status >= 400 ? "s4" : "s2";
  const tokens = r.tokens_in == null && r.tokens_out == null ? "" : (r.tokens_in ?? "–") + " / " + (r.tokens_out ?? "–");
  const row = el("tr", { class: "fresh" },
    el("td", { class: "mono", text: new Date(at).toLocaleTimeString(undefined, { hour12: false }) + "." + String(at % 1000).padStart(3, "0") }),
    el("td", { text: r.method + " " + r.route }),
    el("td", { text: r.provider || "" }),
    el("td", { text: r.model || "" }),
    el("td", { class: "mono", text: r.target || "" }),
    el("td", {}, el("span", { class: "pill " + statusClass, text: String(r.status) })),
    el("td", { class: "num", text: fmtMs(r.latency_ms) }),
    el("td", { class: "num", text: fmtMs(r.first_chunk_ms) }),
    el("td", { class: "num", text: tokens }),
    el("td", { class: "num", text: fmtCost(r.cost_usd) }),
    el("td", { text: r.cache || "" }),
    el("td", { class: "error", text: r.error || "" }),
    // With tracing on, the W3C trace id (what the tracing system is searched by) is shown; the
    // x-portkey-trace-id stays in the tooltip.
    el("td", { class: "mono trace", text: r.otel_trace_id || r.trace_id || "",
               title: r.otel_trace_id ? "trace " + r.otel_trace_id + " · x-portkey-trace-id " + r.trace_id : (r.trace_id || "") }));
  row.dataset.provider = r.provider || "";
  row.dataset.status = String(r.status);
  const body = document.getElementById("feed-body");
  body.prepend(row);
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
  scheduleCharts();
}

// ---- charts (canvas, drawn here)

let chartsPending = false;
function scheduleCharts() {
  if (chartsPending) return;
  chartsPending = true;
  requestAnimationFrame(() => { chartsPending = false; drawCharts(); });
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const index = Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

function bucketize(now) {
  const start = Math.floor(now / BUCKET_MS) * BUCKET_MS - (BUCKETS - 1) * BUCKET_MS;
  const byProvider = new Map();
  for (const e of feedState.events) {
    const index = Math.floor((e.at - start) / BUCKET_MS);
    if (index < 0 || index >= BUCKETS) continue;
    if (!byProvider.has(e.provider)) {
      byProvider.set(e.provider, Array.from({ length: BUCKETS }, () => ({ ok: 0, errors: 0, latencies: [] })));
    }
    const bucket = byProvider.get(e.provider)[index];
    if (e.status >= 400 || e.error) bucket.errors += 1; else bucket.ok += 1;
    if (e.latency != null) bucket.latencies.push(e.latency);
  }
  return byProvider;
}

function drawCharts() {
  const box = document.getElementById("charts");
  const byProvider = bucketize(Date.now());
  if (byProvider.size === 0) {
    if (!box.querySelector(".empty")) box.replaceChildren(el("p", { class: "muted empty", text: "No requests in the last 10 minutes." }));
    return;
  }
  const names = [...byProvider.keys()].sort();
  const existing = new Map([...box.querySelectorAll(".chart-card")].map((card) => [card.dataset.provider, card]));
  if (names.length !== existing.size || names.some((name) => !existing.has(name))) {
    box.replaceChildren();
    for (const name of names) {
      const card = el("div", { class: "chart-card" },
        el("div", { class: "chart-title" }, el("b", { text: name }), el("span", { class: "muted small stats" })),
        el("div", { class: "chart-pair" },
          el("div", {}, el("div", { class: "chart-label", text: "requests / 10 s" }), el("canvas", { class: "requests" })),
          el("div", {}, el("div", { class: "chart-label", text: "latency p50 / p95 / p99" }), el("canvas", { class: "latency" }))));
      card.dataset.provider = name;
      box.append(card);
      existing.set(name, card);
    }
  }
  for (const name of names) {
    const buckets = byProvider.get(name);
    const card = existing.get(name);
    const all = buckets.flatMap((b) => b.latencies).sort((a, b) => a - b);
    const total = buckets.reduce((n, b) => n + b.ok + b.errors, 0);
    const errors = buckets.reduce((n, b) => n + b.errors, 0);
    card.querySelector(".stats").textContent = total + " requests · " + errors + " errors · p50 " + fmtMs(percentile(all, 0.5)) +
      " · p95 " + fmtMs(percentile(all, 0.95)) + " · p99 " + fmtMs(percentile(all, 0.99));
    drawBars(card.querySelector("canvas.requests"), buckets);
    const series = [0.5, 0.95, 0.99].map((p) => buckets.map((b) => percentile(b.latencies.slice().sort((x, y) => x - y), p)));
    drawLines(card.querySelector("canvas.latency"), series, ["--p50", "--p95", "--p99"]);
  }
}

function prepare(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  return { g, width, height };
}

function color(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const PAD = { left: 46, right: 6, top: 6, bottom: 16 };

function niceMax(value) {
  if (value <= 0) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(value)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

function frame(g, width, height, max, label) {
  g.strokeStyle = color("--line");
  g.lineWidth = 1;
  g.fillStyle = color("--muted");
  g.font = "10px system-ui, sans-serif";
  g.textAlign = "right";
  g.textBaseline = "middle";
  const plotHeight = height - PAD.top - PAD.bottom;
  for (const fraction of [0, 0.5, 1]) {
    const y = Math.round(PAD.top + plotHeight * (1 - fraction)) + 0.5;
    g.beginPath(); g.moveTo(PAD.left, y); g.lineTo(width - PAD.right, y); g.stroke();
    g.fillText(label(max * fraction), PAD.left - 4, y);
  }
  g.textBaseline = "alphabetic";
  g.textAlign = "left";
  g.fillText("-10 min", PAD.left, height - 3);
  g.textAlign = "right";
  g.fillText("now", width - PAD.right, height - 3);
}

function drawBars(canvas, buckets) {
  const { g, width, height } = prepare(canvas);
  const max = niceMax(Math.max(4, ...buckets.map((b) => b.ok + b.errors)));
  frame(g, width, height, max, (v) => String(Math.round(v)));
  const plotWidth = width - PAD.left - PAD.right, plotHeight = height - PAD.top - PAD.bottom;
  const slot = plotWidth / BUCKETS;
  const bar = Math.max(1, slot - 1.5);
  buckets.forEach((b, i) => {
    const x = PAD.left + i * slot + (slot - bar) / 2;
    const okHeight = (b.ok / max) * plotHeight, errHeight = (b.errors / max) * plotHeight;
    const base = PAD.top + plotHeight;
    g.fillStyle = color("--ok");
    g.fillRect(x, base - okHeight, bar, okHeight);
    g.fillStyle = color("--err");
    g.fillRect(x, base - okHeight - errHeight, bar, errHeight);
  });
}

function drawLines(canvas, series, colors) {
  const { g, width, height } = prepare(canvas);
  const values = series.flat().filter((v) => v != null);
  const max = niceMax(Math.max(1, ...values));
  frame(g, width, height, max, (v) => (max >= 1000 ? (v / 1000).toFixed(1) + " s"
    : max < 10 ? v.toFixed(1) + " ms" : Math.round(v) + " ms"));
  const plotWidth = width - PAD.left - PAD.right, plotHeight = height - PAD.top - PAD.bottom;
  const slot = plotWidth / BUCKETS;
  series.forEach((points, s) => {
    g.strokeStyle = g.fillStyle = color(colors[s]);
    g.lineWidth = 1.5;
    g.beginPath();
    let drawing = false;
    points.forEach((v, i) => {
      if (v == null) { drawing = false; return; }
      const x = PAD.left + i * slot + slot / 2, y = PAD.top + plotHeight * (1 - v / max);
      if (drawing) g.lineTo(x, y); else g.moveTo(x, y);
      drawing = true;
    });
    g.stroke();
    points.forEach((v, i) => {
      if (v == null) return;
      const x = PAD.left + i * slot + slot / 2, y = PAD.top + plotHeight * (1 - v / max);
      g.beginPath(); g.arc(x, y, 2, 0, 2 * Math.PI); g.fill();
    });
  });
}

// ---- the test form

async function sendTest(event) {
  event.preventDefault();
  const via = document.querySelector("input[name=via]:checked").value;
  const target = document.getElementById("test-target").value;
  const stream = document.getElementById("test-stream").checked;
  const apiKey = document.getElementById("test-api-key").value;
  const gatewayKey = document.getElementById("test-gateway-key").value;
  const output = document.getElementById("test-output");
  const status = document.getElementById("test-status");
  const button = document.getElementById("test-send");
  const headers = { "content-type": "application/json" };
  headers[via === "config" ? "x-portkey-config" : "x-portkey-provider"] = target;
  if (apiKey) headers.authorization = "Bearer " + apiKey;
  if (gatewayKey) headers["x-portkey-api-key"] = gatewayKey;
  const body = {
    model: document.getElementById("test-model").value,
    messages: [{ role: "user", content: document.getElementById("test-message").value }],
  };
  if (stream) { body.stream = true; body.stream_options = { include_usage: true }; }
  output.textContent = "";
  output.classList.remove("failed");
  status.textContent = "sending…";
  button.disabled = true;
  const started = performance.now();
  try {
    // No cookies: the test request is a client's request, not the console's.
    const reply = await fetch("/v1/chat/completions", {
      method: "POST", headers, body: JSON.stringify(body), credentials: "omit", cache: "no-store",
    });
    const trace = reply.headers.get("x-portkey-trace-id");
    const head = reply.status + " " + (reply.statusText || "") + (trace ? " · trace " + trace : "");
    status.textContent = head;
    const type = reply.headers.get("content-type") || "";
    if (reply.ok && type.startsWith("text/event-stream")) {
      await readStream(reply, output);
    } else {
      const text = await reply.text();
      let parsed = null;
      try { parsed = JSON.parse(text); } catch (e) { /* not JSON */ }
      if (!reply.ok) {
        output.classList.add("failed");
        const error = parsed && (parsed.error || parsed);
        output.textContent = error && error.message ? (error.code ? error.code + ": " : "") + error.message : text;
      } else {
        const message = parsed && parsed.choices && parsed.choices[0] && parsed.choices[0].message;
        output.textContent = message && typeof message.content === "string" ? message.content : text;
      }
    }
    status.textContent = head + " · " + fmtMs(performance.now() - started);
  } catch (e) {
    output.classList.add("failed");
    output.textContent = "the request failed: " + e.message;
    status.textContent = "";
  } finally {
    button.disabled = false;
  }
}

async function readStream(reply, output) {
  const reader = reply.body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    pending += decoder.decode(value, { stream: true });
    let end;
    while ((end = pending.indexOf("\n\n")) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      for (const line of block.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        let chunk;
        try { chunk = JSON.parse(data); } catch (e) { continue; }
        if (chunk.error) {
          output.classList.add("failed");
          output.textContent += "\n[" + (chunk.error.code || "error") + "] " + chunk.error.message;
          continue;
        }
        const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
        if (delta && typeof delta.content === "string") output.textContent += delta.content;
      }
    }
  }
}

if (document.body.id === "login") startLogin();
else startConsole();
