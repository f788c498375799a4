// ganzoo lab: draws a recorded (or live) GAN training run on the plane, after GAN Lab (Kahng et al. 2018).
// The data (ganzoo/lab/encode.py) is quantised arrays in base64; nothing here touches the network except the
// live session's own server.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("lab-data").textContent);
  const POSITION_SCALE = 8192, MISSING = -32768, ARROW_PX = 26;
  const KIND_SHAPES = { points: "dot", mesh: "line", arrows: "arrow", heatmap: "ramp" };

  // --- decoding -------------------------------------------------------------------------------------------------
  function bytes(b64) {
    const text = atob(b64), out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  const int16 = (b64) => { const b = bytes(b64); return new Int16Array(b.buffer, 0, b.length >> 1); };
  const int8 = (b64) => new Int8Array(bytes(b64).buffer);

  const decoded = new WeakMap(); // encoded layer -> typed arrays, decoded once when first drawn
  function decode(kind, enc) {
    if (!decoded.has(enc)) {
      const out = { q: kind === "heatmap" ? bytes(enc.q) : int16(enc.q) };
      if (kind === "arrows") out.v = int8(enc.v);
      decoded.set(enc, out);
    }
    return decoded.get(enc);
  }

  // --- colours --------------------------------------------------------------------------------------------------
  function rgb(css) {
    const hex = css.trim().replace("#", "");
    const full = hex.length === 3 ? hex.split("").map((c) => c + c).join("") : hex;
    return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
  }
  const mix = (a, b, t) => a.map((v, i) => Math.round(v + (b[i] - v) * t));
  const WHITE = [247, 247, 247];
  function ramp(colours) { // 256 RGB entries, pale so that points stay visible on top
    const [low, high] = colours.length > 1 ? colours.map(rgb) : [WHITE, rgb(colours[0])];
    const lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const t = i / 255;
      const c = colours.length === 1 ? mix(low, high, t)
        : t < 0.5 ? mix(low, WHITE, 2 * t) : mix(WHITE, high, 2 * t - 1);
      lut.set(mix(c, [255, 255, 255], 0.45), 3 * i);
    }
    return lut;
  }
  const css = (c) => `rgb(${c.join(",")})`;
  const gradient = (lut) => `linear-gradient(90deg,${[0, 64, 128, 191, 255]
    .map((i) => css(Array.from(lut.subarray(3 * i, 3 * i + 3)))).join(",")})`;

  // --- small helpers --------------------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  }
  function fmt(v, digits = 4) {
    if (v === null || v === undefined) return "–";
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(digits - 2) : String(+v.toPrecision(digits));
  }
  function hiDpi(canvas, w, h) {
    const r = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * r); canvas.height = Math.round(h * r);
    canvas.style.width = w + "px"; canvas.style.height = h + "px";
    const ctx = canvas.getContext("2d");
    ctx.setTransform(r, 0, 0, r, 0, 0);
    return ctx;
  }
  function niceStep(span) {
    const raw = span / 5, p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  }
  function lastAtOrBefore(frames, step) { // index of the last frame whose step <= step (frames sorted by step)
    let lo = 0, hi = frames.length - 1;
    if (!frames.length || frames[0].step > step) return 0;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (frames[mid].step <= step) lo = mid; else hi = mid - 1; }
    return lo;
  }

  // --- the plane ------------------------------------------------------------------------------------------------
  const M = { left: 34, right: 8, top: 8, bottom: 26 };
  class Plane {
    constructor(canvas, rec, size) {
      this.canvas = canvas; this.rec = rec; this.size = size;
      this.ctx = hiDpi(canvas, size, size);
      this.w = size - M.left - M.right; this.h = size - M.top - M.bottom;
      const [gh, gw] = rec.grid;
      this.heat = el("canvas"); this.heat.width = gw; this.heat.height = gh;
      this.luts = {};
      for (const l of rec.layers) if (l.kind === "heatmap") this.luts[l.name] = ramp(l.colour.split(/\s+/));
    }
    px(qx, qy) { // quantised position -> canvas pixels
      return [M.left + (qx / POSITION_SCALE + 1) / 2 * this.w, M.top + (1 - qy / POSITION_SCALE) / 2 * this.h];
    }

    draw(frame, visible) {
      const ctx = this.ctx;
      ctx.clearRect(0, 0, this.size, this.size);
      ctx.fillStyle = "#fff"; ctx.fillRect(M.left, M.top, this.w, this.h);
      ctx.save();
      ctx.beginPath(); ctx.rect(M.left, M.top, this.w, this.h); ctx.clip();
      for (const layer of this.rec.layers) {
        if (!visible[layer.name]) continue;
        const enc = layer.static ? this.rec.static[layer.name] : frame && frame.layers[layer.name];
        if (!enc) continue;
        this[layer.kind](layer, enc, decode(layer.kind, enc));
      }
      ctx.restore();
      this.axes();
    }
    heatmap(layer, enc, d) {
      const img = new ImageData(this.heat.width, this.heat.height), lut = this.luts[layer.name];
      for (let i = 0; i < d.q.length; i++) {
        img.data.set(lut.subarray(3 * d.q[i], 3 * d.q[i] + 3), 4 * i); img.data[4 * i + 3] = 255;
      }
      this.heat.getContext("2d").putImageData(img, 0, 0);
      this.ctx.imageSmoothingEnabled = true;
      this.ctx.drawImage(this.heat, M.left, M.top, this.w, this.h);
    }
    points(layer, enc, d) {
      const ctx = this.ctx;
      ctx.fillStyle = layer.colour; ctx.globalAlpha = 0.75;
      for (let i = 0; i < d.q.length; i += 2) {
        if (d.q[i] === MISSING) continue;
        const [x, y] = this.px(d.q[i], d.q[i + 1]);
        ctx.beginPath(); ctx.arc(x, y, 2.2, 0, 2 * Math.PI); ctx.fill();
      }
      ctx.globalAlpha = 1;
    }
    mesh(layer, enc, d) {
      const ctx = this.ctx, R = enc.rows, C = enc.cols, at = (r, c) => 2 * (r * C + c);
      ctx.strokeStyle = layer.colour; ctx.globalAlpha = 0.45; ctx.lineWidth = 1;
      const line = (n, index) => {
        ctx.beginPath();
        let pen = false;
        for (let k = 0; k < n; k++) {
          const i = index(k);
          if (d.q[i] === MISSING) { pen = false; continue; }
          const [x, y] = this.px(d.q[i], d.q[i + 1]);
          if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
          pen = true;
        }
        ctx.stroke();
      };
      for (let r = 0; r < R; r++) line(C, (c) => at(r, c));
      if (R > 1) for (let c = 0; c < C; c++) line(R, (r) => at(r, c));
      ctx.globalAlpha = 1;
    }
    arrows(layer, enc, d) {
      const ctx = this.ctx;
      ctx.strokeStyle = ctx.fillStyle = layer.colour; ctx.lineWidth = 1.3;
      for (let i = 0; i < d.v.length; i += 2) {
        if (d.q[i] === MISSING) continue;
        const [x, y] = this.px(d.q[i], d.q[i + 1]);
        const dx = d.v[i] / 127 * ARROW_PX, dy = -d.v[i + 1] / 127 * ARROW_PX, len = Math.hypot(dx, dy);
        if (len < 1) continue;
        const ux = dx / len, uy = dy / len, head = Math.min(5, len / 2);
        ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + dx, y + dy); ctx.stroke();
        ctx.beginPath(); ctx.moveTo(x + dx, y + dy);
        ctx.lineTo(x + dx - head * (ux - 0.5 * uy), y + dy - head * (uy + 0.5 * ux));
        ctx.lineTo(x + dx - head * (ux + 0.5 * uy), y + dy - head * (uy - 0.5 * ux));
        ctx.closePath(); ctx.fill();
      }
    }
    axes() {
      const ctx = this.ctx, [x0, x1, y0, y1] = this.rec.box, step = niceStep(x1 - x0);
      ctx.strokeStyle = "#888"; ctx.lineWidth = 1; ctx.strokeRect(M.left + 0.5, M.top + 0.5, this.w - 1, this.h - 1);
      ctx.fillStyle = "#444"; ctx.font = "11px system-ui, sans-serif";
      ctx.textAlign = "center"; ctx.textBaseline = "top";
      for (let v = Math.ceil(x0 / step) * step; v <= x1; v += step) {
        const x = M.left + (v - x0) / (x1 - x0) * this.w;
        ctx.fillRect(x, M.top + this.h, 1, 4); ctx.fillText(fmt(+v.toFixed(6)), x, M.top + this.h + 6);
      }
      ctx.textAlign = "right"; ctx.textBaseline = "middle";
      for (let v = Math.ceil(y0 / step) * step; v <= y1; v += step) {
        const y = M.top + (1 - (v - y0) / (y1 - y0)) * this.h;
        ctx.fillRect(M.left - 4, y, 4, 1); ctx.fillText(fmt(+v.toFixed(6)), M.left - 6, y);
      }
    }
  }

  // --- charts ---------------------------------------------------------------------------------------------------
  const CM = { left: 44, right: 10, top: 8, bottom: 18 };
  class Chart {
    constructor(rec, spec, width, height) {
      this.rec = rec; this.spec = spec; this.width = width; this.height = height;
      this.title = el("div", { class: "chart-title" });
      this.canvas = el("canvas", { role: "img", "aria-label": spec.title });
      this.node = el("figure", { class: "chart" }, this.title, this.canvas);
      this.ctx = hiDpi(this.canvas, width, height);
    }
    range() {
      let lo = this.spec.min, hi = this.spec.max;
      const f0 = this.rec.frames[0];
      if (this.spec.max_key && f0 && f0.values[this.spec.max_key] != null) hi = f0.values[this.spec.max_key];
      if (lo === undefined || hi === undefined) {
        const vs = [];
        for (const f of this.rec.frames) for (const s of this.spec.series) {
          const v = f.values[s.key]; if (v !== null && v !== undefined && isFinite(v)) vs.push(v);
        }
        if (lo === undefined) lo = vs.length ? Math.min(...vs) : 0;
        if (hi === undefined) hi = vs.length ? Math.max(...vs) : 1;
      }
      if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
      return [lo, hi];
    }
    draw(index) {
      const ctx = this.ctx, frames = this.rec.frames, w = this.width - CM.left - CM.right;
      const h = this.height - CM.top - CM.bottom, [lo, hi] = this.range();
      const first = frames.length ? frames[0].step : 0, last = frames.length ? frames[frames.length - 1].step : 1;
      const X = (s) => CM.left + (last > first ? (s - first) / (last - first) : 0) * w;
      const Y = (v) => CM.top + (1 - (v - lo) / (hi - lo)) * h;
      ctx.clearRect(0, 0, this.width, this.height);
      ctx.strokeStyle = "#bbb"; ctx.lineWidth = 1; ctx.strokeRect(CM.left + 0.5, CM.top + 0.5, w, h);
      ctx.fillStyle = "#444"; ctx.font = "10px system-ui, sans-serif";
      ctx.textAlign = "right"; ctx.textBaseline = "middle";
      ctx.fillText(fmt(hi, 3), CM.left - 4, CM.top + 4); ctx.fillText(fmt(lo, 3), CM.left - 4, CM.top + h - 4);
      ctx.textBaseline = "top"; ctx.textAlign = "left"; ctx.fillText(`step ${first}`, CM.left, CM.top + h + 4);
      ctx.textAlign = "right"; ctx.fillText(`${last}`, CM.left + w, CM.top + h + 4);
      const current = frames[index];
      const readout = [];
      for (const s of this.spec.series) {
        ctx.strokeStyle = s.colour; ctx.lineWidth = 1.5; ctx.setLineDash(s.dash ? [4, 3] : []);
        ctx.beginPath();
        let pen = false;
        for (const f of frames) {
          const v = f.values[s.key];
          if (v === null || v === undefined) { pen = false; continue; }
          const y = Math.max(CM.top, Math.min(CM.top + h, Y(v)));
          if (pen) ctx.lineTo(X(f.step), y); else ctx.moveTo(X(f.step), y);
          pen = true;
        }
        ctx.stroke(); ctx.setLineDash([]);
        const v = current ? current.values[s.key] : null;
        if (v !== null && v !== undefined) {
          ctx.fillStyle = s.colour; ctx.beginPath();
          ctx.arc(X(current.step), Math.max(CM.top, Math.min(CM.top + h, Y(v))), 3, 0, 2 * Math.PI); ctx.fill();
        }
        const swatch = el("i", { class: "swatch" + (s.dash ? " dash" : ""), style: `--c:${s.colour}` });
        readout.push(el("span", { class: "series" }, swatch, `${s.label} ${fmt(v)}`));
      }
      if (current) { // the cursor at the current frame
        ctx.strokeStyle = "#222"; ctx.lineWidth = 1;
        const x = X(current.step) + 0.5;
        ctx.beginPath(); ctx.moveTo(x, CM.top); ctx.lineTo(x, CM.top + h); ctx.stroke();
      }
      const max = this.spec.max_key && current ? ` (of ${fmt(current.values[this.spec.max_key])})` : "";
      this.title.replaceChildren(el("strong", { text: this.spec.title + max }), " ", ...readout);
    }
  }

  // --- one panel per recording ----------------------------------------------------------------------------------
  class Panel {
    constructor(rec, compare) {
      this.rec = rec;
      const size = compare ? 360 : 520;
      const canvas = el("canvas", { class: "plane", role: "img", "aria-label": `${rec.title}: the plane` });
      this.plane = new Plane(canvas, rec, size);
      this.info = el("p", { class: "info" });
      this.colourbar = el("div", { class: "colourbar" });
      this.charts = rec.charts.map((spec) => new Chart(rec, spec, compare ? 360 : 600, compare ? 88 : 110));
      this.title = el("h2", { text: rec.title });
      this.node = el("section", { class: "panel" },
        el("div", { class: "plane-box" }, this.title, canvas, this.colourbar, this.info),
        el("div", { class: "charts" }, ...this.charts.map((c) => c.node)));
    }
    settingsAt(index) {
      let settings = this.rec.config;
      for (const frame of this.rec.frames.slice(0, index + 1)) {
        if (frame.settings) settings = { ...settings, ...frame.settings };
      }
      return settings;
    }
    draw(point, visible) { // point: {index} of a frame of this recording, or {step} shared by several
      const index = point.index ?? lastAtOrBefore(this.rec.frames, point.step), frame = this.rec.frames[index];
      this.plane.draw(frame, visible);
      for (const c of this.charts) c.draw(index);
      const s = this.settingsAt(index);
      this.info.textContent = [`loss ${s.loss}`, `lr G ${fmt(s.lr_g)}`, `lr D ${fmt(s.lr_d)}`, `n_critic ${s.n_critic}`,
        `batch ${s.batch_size}`, `z ${s.z_dim}`, `seed ${s.seed}`, frame && frame.note ? `after: ${frame.note}` : ""]
        .filter(Boolean).join(" · ");
      this.info.dataset.step = frame ? frame.step : 0;
      if (compare) this.title.textContent = `${this.rec.title} · step ${frame ? frame.step : 0}`;
      const heat = this.rec.layers.find((l) => l.kind === "heatmap" && visible[l.name]);
      const enc = heat && frame && frame.layers[heat.name];
      if (enc) {
        const bar = el("i", { style: `background:${gradient(this.plane.luts[heat.name])}` });
        this.colourbar.replaceChildren(el("span", { text: fmt(enc.lo) }), bar, el("span", { text: fmt(enc.hi) }),
          el("small", { text: heat.label }));
      } else this.colourbar.replaceChildren();
    }
  }

  // --- the page -------------------------------------------------------------------------------------------------
  const recordings = DATA.recordings;
  const compare = recordings.length > 1;
  const panels = recordings.map((r) => new Panel(r, compare));
  const main = document.getElementById("panels");
  main.classList.toggle("compare", compare);
  main.append(...panels.map((p) => p.node));

  // the positions the scrubber walks through: every frame of a single recording (a live session may take several
  // at one step: a D step does not advance it), or every step recorded by any of several, each showing its frame
  // at or before that step
  const state = { index: 0, playing: false, timer: null, points: [], visible: {} };
  function timeline() {
    if (!compare) state.points = recordings[0].frames.map((f, index) => ({ step: f.step, index }));
    else {
      const steps = new Set();
      for (const r of recordings) for (const f of r.frames) steps.add(f.step);
      state.points = Array.from(steps).sort((a, b) => a - b).map((step) => ({ step }));
    }
    scrubber.max = Math.max(0, state.points.length - 1);
  }

  const layersBox = document.getElementById("layers");
  layersBox.append(el("span", { class: "label", text: "Layers" }));
  const seen = new Set();
  for (const r of recordings) for (const l of r.layers) {
    if (seen.has(l.name)) continue;
    seen.add(l.name);
    state.visible[l.name] = l.visible;
    const box = el("input", { type: "checkbox", "data-layer": l.name });
    box.checked = l.visible;
    box.addEventListener("change", () => { state.visible[l.name] = box.checked; draw(); });
    const colours = l.colour.split(/\s+/);
    const style = l.kind === "heatmap" ? `background:${gradient(ramp(colours))}` : `--c:${colours[0]}`;
    layersBox.append(el("label", { class: "toggle" }, box, el("i", { class: `swatch ${KIND_SHAPES[l.kind]}`, style }),
      l.label));
  }

  const scrubber = document.getElementById("scrubber"), stepOut = document.getElementById("step");
  const stepOf = document.getElementById("step-of"), playButton = document.getElementById("play");
  function draw() {
    const point = state.points[state.index] ?? { step: 0 };
    for (const p of panels) p.draw(point, state.visible);
    scrubber.value = state.index;
    stepOut.textContent = point.step;
    const total = Math.max(...recordings.map((r) => (r.frames.length ? r.frames[r.frames.length - 1].step : 0)));
    stepOf.textContent = `of ${total} · frame ${state.index + 1} / ${state.points.length}`;
  }
  function go(index) { state.index = Math.max(0, Math.min(state.points.length - 1, index)); draw(); }
  function setPlaying(on) {
    state.playing = on;
    playButton.innerHTML = on ? "&#10074;&#10074; Pause" : "&#9654; Play";
    clearTimeout(state.timer);
    if (on) tick();
  }
  function tick() {
    if (!state.playing) return;
    if (state.index >= state.points.length - 1) { if (!DATA.live) setPlaying(false); }
    else go(state.index + 1);
    state.timer = setTimeout(tick, 1000 / Number(document.getElementById("speed").value));
  }
  playButton.addEventListener("click", () => {
    if (!state.playing && state.index >= state.points.length - 1 && !DATA.live) go(0);
    setPlaying(!state.playing);
  });
  document.getElementById("back").addEventListener("click", () => { setPlaying(false); go(state.index - 1); });
  document.getElementById("forward").addEventListener("click", () => { setPlaying(false); go(state.index + 1); });
  scrubber.addEventListener("input", () => { setPlaying(false); go(Number(scrubber.value)); });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("input, select, textarea")) return;
    if (e.key === " ") { e.preventDefault(); playButton.click(); }
    else if (e.key === "ArrowLeft") document.getElementById("back").click();
    else if (e.key === "ArrowRight") document.getElementById("forward").click();
  });

  timeline();
  go(0);

  // --- live session: the page polls its server for new frames and sends the controls' actions -------------------
  if (DATA.live) {
    const status = document.getElementById("status"), trainButton = document.getElementById("train");
    const rec = recordings[0];
    let version = DATA.live.version, timer = null, inFlight = null;
    const say = (text, bad) => { status.textContent = text; status.classList.toggle("error", !!bad); };
    async function call(path, body) {
      const headers = { "Content-Type": "application/json" };
      const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
      const reply = await response.json();
      if (!response.ok) throw new Error(reply.error || response.statusText);
      return reply;
    }
    function show(live) {
      trainButton.innerHTML = live.playing ? "&#10074;&#10074; Pause" : "&#9654; Train";
      trainButton.dataset.playing = live.playing;
      if (live.message) say(live.message, live.message_is_error);
    }
    async function fetchFrames() {
      const response = await fetch(`/api/frames?version=${version}&since=${rec.frames.length}`);
      const reply = await response.json();
      if (response.status === 400) rec.frames.length = 0; // out of step with the server: take them all again
      if (!response.ok) throw new Error(reply.error || response.statusText);
      const following = state.index >= state.points.length - 1;
      const reset = reply.version !== version;
      if (reset) { version = reply.version; rec.frames.length = 0; }
      if (reply.frames.length || reset) {
        rec.frames.push(...reply.frames);
        timeline();
        if (following) state.index = state.points.length - 1;
        draw();
      }
      show(reply.live);
      return reply.live.playing ? 150 : 600;
    }
    function poll() { // one request at a time: a second one would fetch the same frames again
      if (inFlight) return inFlight;
      clearTimeout(timer);
      inFlight = fetchFrames()
        .catch((err) => {
          say(`the lab server does not answer (${err.message}); the frames so far stay here`, true);
          return 2000;
        })
        .then((delay) => { inFlight = null; timer = setTimeout(poll, delay); });
      return inFlight;
    }
    async function act(body) {
      try { show((await call("/api/action", body)).live); await inFlight; poll(); }
      catch (err) { say(err.message, true); }
    }
    trainButton.addEventListener("click", () => act({ do: trainButton.dataset.playing === "true" ? "pause" : "play" }));
    for (const b of document.querySelectorAll("[data-action]")) {
      b.addEventListener("click", () => { say(""); act({ do: b.dataset.action }); });
    }
    document.getElementById("live").addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = {};
      for (const name of ["lr_g", "lr_d", "n_critic", "every"]) {
        const text = document.getElementById(name).value.trim();
        body[name] = text === "" || isNaN(Number(text)) ? text : Number(text);
      }
      body.loss = document.getElementById("loss").value;
      try {
        const reply = await call("/api/settings", body);
        say(`settings applied at step ${reply.live.step}`);
        show(reply.live);
      } catch (err) { say(err.message, true); }
    });
    document.getElementById("save").addEventListener("click", async () => {
      try { say(`wrote ${(await call("/api/save", {})).path}`); } catch (err) { say(err.message, true); }
    });
    poll();
  }
})();
