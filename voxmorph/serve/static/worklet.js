// Audio worklets of the voxmorph live page.
// "capture" gathers microphone samples into blocks and posts them to the page;
// "player" plays converted blocks from a jitter buffer sized from the measured arrival jitter.
// Both keep the last seconds of what they captured / played, indexed by the context's frame
// counter, so a benchmark can measure the page's true end-to-end latency (message "trace").

class Trace {
  constructor(size) { this.ring = new Float32Array(size); this.end = 0; }
  add(x) { // samples of frames currentFrame .. currentFrame + x.length
    const n = this.ring.length;
    for (let i = 0; i < x.length; i++) this.ring[(currentFrame + i) % n] = x[i];
    this.end = currentFrame + x.length;
  }
  snapshot() { // the ring unrolled, oldest first, ending at frame `end`
    const n = this.ring.length, s = this.end % n;
    const out = new Float32Array(n);
    out.set(this.ring.subarray(s), 0);
    out.set(this.ring.subarray(0, s), n - s);
    return { samples: out, end: this.end };
  }
}

class Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.block = options.processorOptions.block;
    this.buf = new Float32Array(this.block);
    this.fill = 0;
    this.trace = new Trace(options.processorOptions.trace);
    this.port.onmessage = (e) => { if (e.data === "trace") this.port.postMessage(this.trace.snapshot()); };
  }
  process(inputs) {
    const ch = inputs[0][0];
    if (!ch) return true;
    this.trace.add(ch);
    for (let i = 0; i < ch.length; i++) {
      this.buf[this.fill++] = ch[i];
      if (this.fill === this.block) {
        this.port.postMessage(this.buf.slice(0));
        this.fill = 0;
      }
    }
    return true;
  }
}

// The jitter buffer aims at `target` samples: the largest lateness of an arriving block over the
// last WINDOW arrivals (against the steady arrival the sample count predicts), plus one render
// quantum, never below the floor nor above `maxTarget` (the burst of replies that queued up while
// the server built the stream would otherwise set it to seconds). The floor starts at `minTarget`
// and rises by a render quantum at each underrun: a stall longer than the window has seen is
// paid for once, not again at every one like it. Audio beyond target + SLACK is dropped at the
// next quiet render quantum (the voice gate leaves plenty), or after HOLD frames of excess anyway
// (`cut`): late blocks that arrive together no longer add their lateness to every later sample.
const WINDOW = 300, SLACK = 64, HOLD = 16000, QUIET = 1e-3;

class Player extends AudioWorkletProcessor {
  constructor(options) {
    const o = options.processorOptions;
    super();
    this.floor = o.minTarget;
    this.maxTarget = o.maxTarget;
    this.target = o.minTarget;
    this.queue = [];
    this.offset = 0;
    this.buffered = 0;
    this.started = false;
    this.underruns = 0;
    this.dropped = 0;
    this.cut = 0;
    this.received = 0;
    this.lateness = new Float64Array(WINDOW);
    this.arrivals = 0;
    this.excessSince = -1;
    this.trace = new Trace(o.trace);
    this.port.onmessage = (e) => {
      if (e.data === "trace") { this.port.postMessage(this.trace.snapshot()); return; }
      this.arrive(e.data);
    };
  }
  arrive(x) {
    // lateness of this block against the earliest-arriving schedule seen in the window
    this.lateness[this.arrivals % WINDOW] = currentFrame - this.received;
    this.arrivals++;
    this.received += x.length;
    const n = Math.min(this.arrivals, WINDOW);
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < n; i++) { lo = Math.min(lo, this.lateness[i]); hi = Math.max(hi, this.lateness[i]); }
    this.target = Math.min(this.maxTarget, Math.max(this.floor, hi - lo + 128));
    this.queue.push(x);
    this.buffered += x.length;
  }
  quiet(n) { // the next n queued samples are near silence
    let k = 0;
    for (let q = 0; q < this.queue.length && k < n; q++) {
      const head = this.queue[q];
      for (let i = q === 0 ? this.offset : 0; i < head.length && k < n; i++, k++) {
        if (Math.abs(head[i]) > QUIET) return false;
      }
    }
    return true;
  }
  drop(n) {
    while (n > 0 && this.queue.length) {
      const head = this.queue[0];
      const m = Math.min(n, head.length - this.offset);
      this.offset += m; this.buffered -= m; this.dropped += m; n -= m;
      if (this.offset === head.length) { this.queue.shift(); this.offset = 0; }
    }
  }
  process(inputs, outputs) {
    const out = outputs[0][0];
    if (!this.started && this.buffered >= this.target) this.started = true;
    const excess = this.buffered - this.target - SLACK;
    if (this.started && excess > 0) {
      if (this.excessSince < 0) this.excessSince = currentFrame;
      const quiet = this.quiet(excess + out.length);
      if (quiet || currentFrame - this.excessSince > HOLD) {
        if (!quiet) this.cut += excess;
        this.drop(excess);
        this.excessSince = -1;
      }
    } else {
      this.excessSince = -1;
    }
    let i = 0;
    if (this.started) {
      while (i < out.length && this.queue.length) {
        const head = this.queue[0];
        const n = Math.min(out.length - i, head.length - this.offset);
        out.set(head.subarray(this.offset, this.offset + n), i);
        i += n;
        this.offset += n;
        this.buffered -= n;
        if (this.offset === head.length) { this.queue.shift(); this.offset = 0; }
      }
      if (i < out.length) {
        this.underruns++;
        this.started = false;
        this.floor = Math.min(this.maxTarget, this.floor + 128);
        this.target = Math.max(this.target, this.floor);
      }
    }
    for (; i < out.length; i++) out[i] = 0;
    this.trace.add(out);
    if (currentFrame % 1600 < out.length) {
      this.port.postMessage({buffered: this.buffered, target: this.target, floor: this.floor,
                             underruns: this.underruns, dropped: this.dropped, cut: this.cut});
    }
    return true;
  }
}

registerProcessor("capture", Capture);
registerProcessor("player", Player);
