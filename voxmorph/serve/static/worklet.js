// Audio worklets of the voxmorph live page.
// "capture" gathers microphone samples into blocks and posts them to the page;
// "player" plays converted blocks from a small jitter buffer and reports underruns.

class Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.block = options.processorOptions.block;
    this.buf = new Float32Array(this.block);
    this.fill = 0;
  }
  process(inputs) {
    const ch = inputs[0][0];
    if (!ch) return true;
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

class Player extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.prefill = options.processorOptions.prefill;
    this.queue = [];
    this.offset = 0;
    this.buffered = 0;
    this.started = false;
    this.underruns = 0;
    this.port.onmessage = (e) => {
      this.queue.push(e.data);
      this.buffered += e.data.length;
    };
  }
  process(inputs, outputs) {
    const out = outputs[0][0];
    if (!this.started && this.buffered >= this.prefill) this.started = true;
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
      if (i < out.length) { this.underruns++; this.started = false; }
    }
    for (; i < out.length; i++) out[i] = 0;
    if (currentFrame % 1600 < out.length) {
      this.port.postMessage({buffered: this.buffered, underruns: this.underruns});
    }
    return true;
  }
}

registerProcessor("capture", Capture);
registerProcessor("player", Player);
