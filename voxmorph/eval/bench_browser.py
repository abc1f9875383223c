"""The live page's end-to-end latency, measured in headless Chromium against a real server.

A real ``voxmorph serve`` (as :mod:`voxmorph.eval.bench_serve` starts it) serves the page;
Debian's Chromium opens it with a fake microphone that plays real speech and starts the live
tab. After ``seconds``, the page's capture and playback worklets hand over what they captured and
played, both indexed by the AudioContext's frame counter. The lag that best aligns the two energy
envelopes (:func:`voxmorph.eval.bench_live.envelope_lag`) is the page's end to end: from the
microphone's samples entering the page to the converted samples leaving it (capture block,
WebSocket round trip, the converter's look-ahead, the playback buffer). The device buffers come on
top; the AudioContext's own figure for them is reported beside it, as are the page's counter,
the playback buffer's target, underruns and dropped samples.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.errors import UserError

CHROMIUM = "/usr/bin/chromium"
ANALYSED_S = 12.0
"""Seconds at the end of the run whose envelopes are aligned."""


def _aligned(trace: dict) -> tuple[np.ndarray, np.ndarray]:
    """The captured and played samples over the frames both traces hold."""
    i, o = trace["input"], trace["output"]
    x, y = np.asarray(i["samples"], np.float32), np.asarray(o["samples"], np.float32)
    start, end = max(i["end"] - x.size, o["end"] - y.size), min(i["end"], o["end"])
    start = max(start, end - int(ANALYSED_S * SAMPLE_RATE))
    return (x[start - (i["end"] - x.size) : end - (i["end"] - x.size)],
            y[start - (o["end"] - y.size) : end - (o["end"] - y.size)])


def launch_chromium(playwright, mic: Path):
    """Debian's headless Chromium with a fake microphone playing ``mic`` (looped) and no prompts."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={mic}", "--autoplay-policy=no-user-gesture-required"])


def measure_page(url: str, mic: Path, voice: str, seconds: float) -> dict:
    """Run the live tab for ``seconds`` with ``mic`` as the microphone; the page's figures."""
    from voxmorph.eval.bench_live import envelope_lag

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UserError("the browser measurement needs playwright (pip install -e '.[dev]'); "
                        "--no-browser skips it") from None
    if not Path(CHROMIUM).exists():
        raise UserError("the browser measurement needs Debian's chromium (apt-get install chromium); "
                        "--no-browser skips it")
    with sync_playwright() as p:
        browser = launch_chromium(p, mic)
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_function("document.querySelectorAll('#voice option').length > 0")
            page.select_option("#voice", voice)
            page.click("#start")
            page.wait_for_function(f"window.voxmorph.received >= {int(seconds * SAMPLE_RATE)}",
                                   timeout=int(1000 * (3 * seconds + 60)))
            trace = page.evaluate("window.voxmorph.trace()")
            state = page.evaluate("""() => ({error: window.voxmorph.error, latency: window.voxmorph.latencyMs,
                rtt: window.voxmorph.rttMs, underruns: window.voxmorph.underruns,
                dropped: window.voxmorph.dropped, cut: window.voxmorph.cut,
                target: window.voxmorph.bufferTargetMs, floor: window.voxmorph.bufferFloorMs})""")
            buffered = page.inner_text("#buffered")
        finally:
            browser.close()
    if state["error"]:
        raise UserError(f"the live page reported: {state['error']}")
    x, y = _aligned(trace)
    lag = envelope_lag(x, y, max_lag_s=0.5)
    return {"end_to_end_ms": 1000.0 * lag / SAMPLE_RATE, "device_ms": trace["deviceMs"],
            "page_counter_ms": state["latency"], "rtt_ms": state["rtt"], "underruns": state["underruns"],
            "dropped_ms": 1000.0 * state["dropped"] / SAMPLE_RATE,
            "cut_in_speech_ms": 1000.0 * state["cut"] / SAMPLE_RATE, "buffer_target_ms": state["target"],
            "buffer_floor_ms": state["floor"], "buffered_shown": buffered, "seconds": seconds}


def run_browser(speech: np.ndarray, model: str, voice: str, seconds: float, log: Path) -> dict:
    """A server of converter ``model`` on loopback, the page against it with ``speech`` as the
    microphone (the fake device loops it)."""
    from voxmorph.audio.io import save_audio
    from voxmorph.eval.bench_serve import start_server

    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="voxmorph-bench-browser-") as tmp:
        mic = Path(tmp) / "mic.wav"
        save_audio(mic, speech)
        proc, url = start_server(model, 1, 1, Path(tmp) / "home", log)
        try:
            return measure_page(url + "/", mic, voice, seconds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
