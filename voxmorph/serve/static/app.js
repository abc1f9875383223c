// The voxmorph web app: Live, Convert, Speak and Voices over the server's HTTP API and WebSocket.
"use strict";

// MIN_BUFFER / MAX_BUFFER: the playback buffer's first floor (two render quanta; it rises by one
// at each underrun) and its ceiling;
// TRACE: what the worklets keep
// of the captured and played audio for `window.voxmorph.trace()`
const RATE = 16000, BLOCK = 160, MIN_BUFFER = 256, MAX_BUFFER = 2560, KEEP = 3 * RATE, TRACE = 20 * RATE;
const $ = (id) => document.getElementById(id);
// state the page exposes for tests and the curious
window.voxmorph = { sent: 0, received: 0, rttMs: null, latencyMs: null, underruns: 0, dropped: 0, cut: 0,
                    bufferTargetMs: null, bufferFloorMs: null, trace: null,
                    recent: new Float32Array(KEEP), recentFill: 0, error: null,
                    converted: null, spoken: null, enrolled: null, inputPitch: null, outputPitch: null };

function showError(message) {
  window.voxmorph.error = message; $("error").textContent = message || "";
}

// ---- the API, with the bearer token if the server asks for one
function token() { return sessionStorage.getItem("voxmorph-token"); }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token()) headers.Authorization = "Bearer " + token();
  let r = await fetch(path, Object.assign({}, options, { headers }));
  if (r.status === 401) {
    const t = prompt("This server needs its access token:");
    if (t) { sessionStorage.setItem("voxmorph-token", t); return api(path, options); }
  }
  if (!r.ok) {
    let message = `${r.status} ${r.statusText}`;
    try { message = (await r.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return r;
}

// ---- tabs
document.querySelectorAll("#tabs button").forEach((b) => {
  b.onclick = () => {
    document.querySelectorAll("#tabs button").forEach((o) => o.classList.toggle("active", o === b));
    document.querySelectorAll("section").forEach((s) => { s.hidden = s.id !== "tab-" + b.dataset.tab; });
    showError(null);
    if (b.dataset.tab === "voices") loadVoices();
  };
});

// ---- voices, shared by every tab
async function loadVoices() {
  const [info, status] = await Promise.all([(await api("/api/voices")).json(), (await api("/api/status")).json()]);
  for (const sel of document.querySelectorAll(".voice-select")) {
    const keep = sel.value || status.default_voice;
    sel.innerHTML = "";
    for (const v of info.voices.filter((v) => v.can.includes("convert"))) {
      const o = document.createElement("option"); o.value = o.textContent = v.name;
      o.selected = v.name === keep; sel.appendChild(o);
    }
  }
  const rows = $("voice-rows"); rows.innerHTML = "";
  for (const v of info.voices) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td></td><td>${v.kind}</td><td>${v.f0_median_hz ? v.f0_median_hz + " Hz" : "-"}</td><td></td>`;
    tr.firstChild.textContent = v.name;
    if (v.can.includes("delete")) {
      const b = document.createElement("button"); b.textContent = "Delete"; b.dataset.voice = v.name;
      b.onclick = () => deleteVoice(v.name).catch((e) => showError(e.message));
      tr.lastChild.appendChild(b);
    }
    rows.appendChild(tr);
  }
  const emo = $("speak-emotion");
  if (!emo.options.length) {
    for (const e of status.emotions) { const o = document.createElement("option"); o.value = o.textContent = e; emo.appendChild(o); }
  }
  $("model").textContent = `${status.model} (${status.delay_ms} ms look-ahead)`;
  $("streams").textContent = `${status.live.active} of ${status.live.capacity}`;
  window.voxmorph.delayMs = status.delay_ms;
  return info;
}

async function deleteVoice(name) {
  if (!confirm(`Delete the voice '${name}'?`)) return;
  await api(`/api/voices/${encodeURIComponent(name)}`, { method: "DELETE" });
  await loadVoices();
}

// ---- a recorder on the capture worklet (16 kHz float32, no codec needed)
class Recorder {
  async start() {
    this.ctx = new AudioContext({ sampleRate: RATE });
    await this.ctx.audioWorklet.addModule("/static/worklet.js");
    this.mic = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
    const node = new AudioWorkletNode(this.ctx, "capture", { processorOptions: { block: BLOCK } });
    this.blocks = [];
    node.port.onmessage = (e) => this.blocks.push(e.data);
    const sink = this.ctx.createGain(); sink.gain.value = 0;
    this.ctx.createMediaStreamSource(this.mic).connect(node); node.connect(sink); sink.connect(this.ctx.destination);
  }
  stop() {
    this.mic.getTracks().forEach((t) => t.stop()); this.ctx.close();
    const x = new Float32Array(this.blocks.length * BLOCK);
    this.blocks.forEach((b, i) => x.set(b, i * BLOCK));
    return x;
  }
}

async function decode(blob) {
  const ctx = new OfflineAudioContext(1, 1, RATE);
  return (await ctx.decodeAudioData(await blob.arrayBuffer())).getChannelData(0);
}

function recorderButtons(startId, stopId, done) {
  let rec = null;
  $(startId).onclick = async () => {
    try { rec = new Recorder(); await rec.start(); } catch (e) { showError(String(e)); return; }
    $(startId).disabled = true; $(stopId).disabled = false;
  };
  $(stopId).onclick = () => {
    const x = rec.stop(); rec = null;
    $(startId).disabled = false; $(stopId).disabled = true;
    done(Plots.wav(x, RATE));
  };
}

function offer(audioId, linkId, blob) {
  const url = URL.createObjectURL(blob);
  $(audioId).src = url; $(linkId).href = url; $(linkId).hidden = false;
}

// ---- Convert
let convInput = null;
async function setConvInput(blob, name) {
  convInput = { blob, name };
  $("conv-input").textContent = `${name} (${(blob.size / 1024).toFixed(0)} KB)`;
  $("conv-go").disabled = false;
  try { window.voxmorph.inputPitch = Plots.draw($("conv-in-plot"), await decode(blob), RATE); }
  catch (e) { $("conv-input").textContent += " - the browser cannot draw it; the server may still read it"; }
}
recorderButtons("conv-record", "conv-stop", (blob) => setConvInput(blob, "recording.wav"));
$("conv-file").onchange = (e) => { const f = e.target.files[0]; if (f) setConvInput(f, f.name); };
$("conv-go").onclick = async () => {
  showError(null); $("conv-status").textContent = "converting…"; $("conv-go").disabled = true;
  try {
    const form = new FormData();
    form.append("audio", convInput.blob, convInput.name);
    form.append("voice", $("conv-voice").value);
    form.append("pitch_shift", $("conv-shift").value || "0");
    form.append("denoise", $("conv-denoise").checked);
    const t0 = performance.now();
    const blob = await (await api("/api/convert", { method: "POST", body: form })).blob();
    offer("conv-audio", "conv-download", blob);
    window.voxmorph.outputPitch = Plots.draw($("conv-out-plot"), await decode(blob), RATE);
    window.voxmorph.converted = blob.size;
    $("conv-status").textContent = `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  } catch (e) { showError(e.message); $("conv-status").textContent = ""; }
  $("conv-go").disabled = false;
};

// ---- Speak
$("speak-intensity").oninput = () => { $("speak-intensity-value").textContent = Number($("speak-intensity").value).toFixed(1); };
$("speak-go").onclick = async () => {
  showError(null); $("speak-status").textContent = "speaking…"; $("speak-go").disabled = true;
  try {
    const emotion = $("speak-emotion").value;
    const body = { text: $("speak-text").value, voice: $("speak-voice").value };
    if (emotion && emotion !== "neutral") { body.emotion = emotion; body.intensity = Number($("speak-intensity").value); }
    const r = await api("/api/speak", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const blob = await r.blob();
    offer("speak-audio", "speak-download", blob);
    window.voxmorph.spoken = blob.size;
    $("speak-status").textContent = `${((blob.size - 44) / 2 / RATE).toFixed(1)} s of speech`;
  } catch (e) { showError(e.message); $("speak-status").textContent = ""; }
  $("speak-go").disabled = false;
};

// ---- Voices: enrol from recorded takes and uploaded files
const takes = [];
function addTake(blob, name) {
  takes.push({ blob, name });
  const li = document.createElement("li"); li.textContent = `${name} (${(blob.size / 1024).toFixed(0)} KB)`;
  $("enrol-takes").appendChild(li); $("enrol-go").disabled = false;
}
recorderButtons("enrol-record", "enrol-stop", (blob) => addTake(blob, `take${takes.length + 1}.wav`));
$("enrol-files").onchange = (e) => { for (const f of e.target.files) addTake(f, f.name); };
$("enrol-go").onclick = async () => {
  showError(null); $("enrol-status").textContent = "enrolling… (a minute or so)"; $("enrol-go").disabled = true;
  try {
    const form = new FormData();
    for (const t of takes) form.append("files", t.blob, t.name);
    const name = $("enrol-name").value.trim();
    const v = await (await api(`/api/voices/${encodeURIComponent(name)}`, { method: "POST", body: form })).json();
    window.voxmorph.enrolled = v.name;
    $("enrol-status").textContent = `enrolled '${v.name}'`;
    takes.length = 0; $("enrol-takes").innerHTML = "";
    await loadVoices();
  } catch (e) { showError(e.message); $("enrol-status").textContent = ""; $("enrol-go").disabled = false; }
};

// ---- Live
let ctx = null, ws = null, mic = null, bufferedMs = 0;

function level(el, x) {
  let s = 0; for (const v of x) s += v * v;
  const db = 10 * Math.log10(s / x.length + 1e-10);
  el.style.width = Math.max(0, Math.min(100, (db + 60) * 100 / 60)) + "%";
}

function keep(x) {
  const v = window.voxmorph, r = v.recent;
  if (x.length >= r.length) { r.set(x.subarray(x.length - r.length)); }
  else { r.copyWithin(0, x.length); r.set(x, r.length - x.length); }
  v.recentFill = Math.min(r.length, v.recentFill + x.length);
}

async function start() {
  showError(null);
  ctx = new AudioContext({ sampleRate: RATE, latencyHint: "interactive" });
  await ctx.audioWorklet.addModule("/static/worklet.js");
  mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false,
    noiseSuppression: false, autoGainControl: false, channelCount: 1 } });
  const source = ctx.createMediaStreamSource(mic);
  const capture = new AudioWorkletNode(ctx, "capture", { processorOptions: { block: BLOCK, trace: TRACE } });
  const player = new AudioWorkletNode(ctx, "player", { processorOptions: { minTarget: MIN_BUFFER, maxTarget: MAX_BUFFER,
                                                                           trace: TRACE } });
  // what was captured and what was played, on the context's frame clock (a benchmark aligns them)
  const snapshot = (node) => new Promise((resolve) => {
    const previous = node.port.onmessage;
    node.port.onmessage = (e) => {
      if (e.data.samples === undefined) { previous(e); return; }
      node.port.onmessage = previous;
      resolve({ samples: Array.from(e.data.samples), end: e.data.end });
    };
    node.port.postMessage("trace");
  });
  window.voxmorph.trace = async () => ({ input: await snapshot(capture), output: await snapshot(player),
                                         rate: RATE, deviceMs: 1000 * ((ctx.baseLatency || 0) + (ctx.outputLatency || 0)) });
  const sink = ctx.createGain(); sink.gain.value = 0;
  source.connect(capture); capture.connect(sink); sink.connect(ctx.destination);
  player.connect(ctx.destination);
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const auth = token() ? `&token=${encodeURIComponent(token())}` : "";
  ws = new WebSocket(`${proto}://${location.host}/ws/live?voice=${encodeURIComponent($("voice").value)}${auth}`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { $("status").textContent = "live"; };
  ws.onclose = (e) => { $("status").textContent = e.code >= 4000 ? `stopped (${e.code})` : "stopped"; };
  ws.onmessage = (e) => {
    if (typeof e.data === "string") { showError(JSON.parse(e.data).error); return; }
    const sentAt = new DataView(e.data).getFloat64(0, true);
    const y = new Float32Array(e.data, 8);
    player.port.postMessage(y);
    keep(y);
    const v = window.voxmorph;
    v.received += y.length;
    v.rttMs = performance.now() - sentAt;
    const deviceMs = 1000 * ((ctx.baseLatency || 0) + (ctx.outputLatency || 0));
    v.latencyMs = 1000 * BLOCK / RATE + v.rttMs + (v.delayMs || 0) + bufferedMs + deviceMs;
    level($("out-level"), y);
  };
  capture.port.onmessage = (e) => {
    const x = e.data;
    level($("in-level"), x);
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const msg = new ArrayBuffer(8 + 4 * x.length);
    new DataView(msg).setFloat64(0, performance.now(), true);
    new Float32Array(msg, 8).set(x);
    ws.send(msg);
    window.voxmorph.sent += x.length;
  };
  player.port.onmessage = (e) => {
    bufferedMs = 1000 * e.data.buffered / RATE;
    const v = window.voxmorph;
    v.underruns = e.data.underruns;
    v.dropped = e.data.dropped;
    v.cut = e.data.cut;
    v.bufferTargetMs = 1000 * e.data.target / RATE;
    v.bufferFloorMs = 1000 * e.data.floor / RATE;
    $("buffered").textContent = bufferedMs.toFixed(1) + " ms";
    $("underruns").textContent = e.data.underruns;
    if (v.rttMs !== null) {
      $("rtt").textContent = v.rttMs.toFixed(1) + " ms";
      $("latency").textContent = v.latencyMs.toFixed(1) + " ms";
    }
  };
  $("start").disabled = true; $("stop").disabled = false;
}

function stop() {
  if (ws) ws.close();
  if (mic) mic.getTracks().forEach((t) => t.stop());
  if (ctx) ctx.close();
  ws = mic = ctx = null;
  $("start").disabled = false; $("stop").disabled = true;
}

$("start").onclick = () => start().catch((err) => { showError(String(err)); stop(); });
$("stop").onclick = stop;
loadVoices().catch((e) => showError(e.message));
