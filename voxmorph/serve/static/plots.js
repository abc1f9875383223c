// Spectrogram and pitch of a recording on a canvas, and WAV encoding, for the voxmorph page.
"use strict";

const Plots = (() => {
  const N = 512, HOP = 160;

  function fft(re, im) {  // in place, radix 2
    const n = re.length;
    for (let i = 1, j = 0; i < n; i++) {
      let bit = n >> 1;
      for (; j & bit; bit >>= 1) j ^= bit;
      j ^= bit;
      if (i < j) { [re[i], re[j]] = [re[j], re[i]]; [im[i], im[j]] = [im[j], im[i]]; }
    }
    for (let len = 2; len <= n; len <<= 1) {
      const ang = -2 * Math.PI / len, wr = Math.cos(ang), wi = Math.sin(ang);
      for (let i = 0; i < n; i += len) {
        let cr = 1, ci = 0;
        for (let k = 0; k < len / 2; k++) {
          const a = i + k, b = a + len / 2;
          const tr = re[b] * cr - im[b] * ci, ti = re[b] * ci + im[b] * cr;
          re[b] = re[a] - tr; im[b] = im[a] - ti; re[a] += tr; im[a] += ti;
          [cr, ci] = [cr * wr - ci * wi, cr * wi + ci * wr];
        }
      }
    }
  }

  // Pitch of one frame by normalised autocorrelation (60-500 Hz at 16 kHz); 0 when unvoiced.
  function pitch(frame, rate) {
    let energy = 0; for (const v of frame) energy += v * v;
    if (energy < 1e-4 * frame.length * 1e-2) return 0;
    let best = 0, bestLag = 0;
    for (let lag = Math.floor(rate / 500); lag <= Math.floor(rate / 60); lag++) {
      let s = 0, e1 = 0, e2 = 0;
      for (let i = 0; i + lag < frame.length; i++) {
        s += frame[i] * frame[i + lag]; e1 += frame[i] * frame[i]; e2 += frame[i + lag] * frame[i + lag];
      }
      const r = s / Math.sqrt(e1 * e2 + 1e-12);
      if (r > best) { best = r; bestLag = lag; }
    }
    return best > 0.6 ? rate / bestLag : 0;
  }

  // Draw the log spectrogram (0-8 kHz) and the pitch track (white, 0-500 Hz scale on the right).
  function draw(canvas, x, rate) {
    const g = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
    const frames = Math.max(1, Math.floor((x.length - N) / HOP) + 1);
    const img = g.createImageData(W, H), win = new Float32Array(N);
    for (let i = 0; i < N; i++) win[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / N);
    const f0 = [];
    for (let col = 0; col < W; col++) {
      const start = Math.floor(col * frames / W) * HOP;
      const re = new Float32Array(N), im = new Float32Array(N);
      for (let i = 0; i < N && start + i < x.length; i++) re[i] = x[start + i] * win[i];
      f0.push(pitch(x.subarray(start, start + N), rate));
      fft(re, im);
      for (let row = 0; row < H; row++) {
        const bin = Math.floor((H - 1 - row) * (N / 2) / H);
        const db = 10 * Math.log10(re[bin] * re[bin] + im[bin] * im[bin] + 1e-10);
        const v = Math.max(0, Math.min(255, (db + 80) * 255 / 80));
        const p = 4 * (row * W + col);
        img.data[p] = v * 0.3; img.data[p + 1] = v * 0.8; img.data[p + 2] = v; img.data[p + 3] = 255;
      }
    }
    g.putImageData(img, 0, 0);
    g.fillStyle = "#fff";
    f0.forEach((hz, col) => { if (hz > 0) g.fillRect(col, H - 1 - hz * H / 500, 1, 2); });
    return f0;
  }

  function wav(samples, rate) {  // 16-bit mono WAV
    const buf = new ArrayBuffer(44 + 2 * samples.length), v = new DataView(buf);
    const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
    str(0, "RIFF"); v.setUint32(4, 36 + 2 * samples.length, true); str(8, "WAVEfmt ");
    v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
    v.setUint32(24, rate, true); v.setUint32(28, 2 * rate, true); v.setUint16(32, 2, true);
    v.setUint16(34, 16, true); str(36, "data"); v.setUint32(40, 2 * samples.length, true);
    samples.forEach((s, i) => v.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, s * 32768)), true));
    return new Blob([buf], { type: "audio/wav" });
  }

  return { draw, wav };
})();
