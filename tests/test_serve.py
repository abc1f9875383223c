"""The browser live path end to end: uvicorn, the page in headless Chromium with a fake microphone
fed from a real recording, the WebSocket, and converted audio coming back."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
import uvicorn
from fastapi.testclient import TestClient
from test_cli import assert_user_error, run

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.io import load_audio
from voxmorph.audio.yin import yin_f0
from voxmorph.eval.bench_browser import CHROMIUM, launch_chromium
from voxmorph.pipeline.world.stream import FRAME_HOP
from voxmorph.serve.app import HEADER, create_app
from voxmorph.serve.limits import ServerLimits


@pytest.mark.parametrize("model,hop", [("neural", 160), ("world", FRAME_HOP)])
def test_websocket_converts_and_echoes_timestamps(male_audio, model, hop):
    client = TestClient(create_app(model=model, limits=ServerLimits(live_streams=2)))
    info = client.get("/api/status").json()
    assert info["default_voice"] == "vcc-tf1" and info["model"] == model and info["delay_ms"] > 0
    assert "<title>voxmorph</title>" in client.get("/").text
    with client.websocket_connect("/ws/live?voice=vcc-tf1") as ws:
        out = []
        for i in range(0, SAMPLE_RATE, 160):
            ws.send_bytes(HEADER.pack(float(i)) + male_audio[i : i + 160].tobytes())
            msg = ws.receive_bytes()
            assert HEADER.unpack(msg[: HEADER.size])[0] == float(i)
            out.append(np.frombuffer(msg, np.float32, offset=HEADER.size))
        assert sum(o.size for o in out) == SAMPLE_RATE
        ws.send_bytes(HEADER.pack(0.0) + np.zeros(100, np.float32).tobytes())
        assert f"multiples of {hop}" in ws.receive_json()["error"]


def test_websocket_unknown_voice_is_reported():
    client = TestClient(create_app(model="world", limits=ServerLimits(live_streams=1)))
    with client.websocket_connect("/ws/live?voice=nobody") as ws:
        assert "nobody" in ws.receive_json()["error"]


def test_serve_refuses_an_unknown_model_or_default_voice_at_start():
    assert_user_error(run("serve", "--model", "nope", check=False), "unknown converter")
    assert_user_error(run("serve", "--voice", "nobody", "--model", "world", check=False), "nobody")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server():
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(timeout=5)


@pytest.mark.slow
def test_browser_page_streams_the_microphone_and_plays_converted_audio(server, male_wav, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    mic = tmp_path / "mic.wav"
    x = load_audio(male_wav)
    sf.write(mic, x, SAMPLE_RATE, subtype="PCM_16")
    with sync_playwright() as p:
        browser = launch_chromium(p, mic)
        page = browser.new_page()
        page.goto(server)
        page.wait_for_function("document.querySelectorAll('#voice option').length > 0")
        page.select_option("#voice", "vcc-tf1")
        page.click("#start")
        page.wait_for_function("window.voxmorph.received >= 5 * 16000", timeout=60000)
        state = page.evaluate("""() => ({error: window.voxmorph.error, sent: window.voxmorph.sent,
            received: window.voxmorph.received, latency: window.voxmorph.latencyMs,
            rtt: window.voxmorph.rttMs, recent: Array.from(window.voxmorph.recent)})""")
        shown, converter = page.inner_text("#latency"), page.inner_text("#model")
        browser.close()
    assert state["error"] is None
    assert state["received"] <= state["sent"]
    # the round trip is measured and in milliseconds (a sanity bound, not a speed goal: the
    # latency goals live in `voxmorph bench live`, and a loaded machine stretches this)
    assert 0 < state["rtt"] < 5000 and state["latency"] > state["rtt"]
    assert shown.endswith(" ms") and converter.startswith("neural")  # the default converter
    y = np.asarray(state["recent"], np.float32)
    assert np.sqrt(np.mean(y**2)) > 0.01  # speech came back, not silence
    f_in, f_out = yin_f0(x, FRAME_HOP), yin_f0(y, FRAME_HOP)
    # VCTK male in, VCC female voice out: the pitch that comes back is far higher
    assert np.median(f_out[f_out > 0]) > 1.5 * np.median(f_in[f_in > 0])


@pytest.mark.slow
def test_the_page_latency_is_measured_from_what_it_captured_and_played(server, male_wav, tmp_path):
    """The benchmark's measurement: the played audio lags the captured audio by the whole path,
    at least the converter's look-ahead and a block; the playback buffer's target within its bounds,
    its floor raised by a render quantum (8 ms) at each underrun."""
    from voxmorph.eval.bench_browser import measure_page

    mic = tmp_path / "mic.wav"
    sf.write(mic, load_audio(male_wav), SAMPLE_RATE, subtype="PCM_16")
    got = measure_page(server, mic, "vcc-tf1", seconds=8.0)
    delay_ms = httpx.get(server + "api/status").json()["delay_ms"]
    assert delay_ms + 10.0 <= got["end_to_end_ms"] < 400.0
    assert got["buffer_floor_ms"] == pytest.approx(min(160.0, 16.0 + 8.0 * got["underruns"]))
    assert got["buffer_floor_ms"] <= got["buffer_target_ms"] <= 160.0  # between its floor and ceiling


@pytest.mark.slow
def test_browser_app_convert_speak_and_voices_tabs(server, male_wav, female_wav, female_wav2, tmp_path):
    """Convert a take recorded from the (fake) microphone, speak text with an emotion, enrol a voice
    from uploaded files and delete it: each tab through the page, as a user would."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    mic = tmp_path / "mic.wav"
    sf.write(mic, load_audio(male_wav), SAMPLE_RATE, subtype="PCM_16")
    with sync_playwright() as p:
        browser = launch_chromium(p, mic)
        page = browser.new_page()
        page.on("dialog", lambda d: d.accept())
        page.goto(server)
        page.wait_for_function("document.querySelectorAll('#conv-voice option').length > 0")

        page.click("button[data-tab=convert]")
        page.select_option("#conv-voice", "vcc-tf1")
        page.click("#conv-record")
        page.wait_for_timeout(4000)
        page.click("#conv-stop")
        page.wait_for_function("window.voxmorph.inputPitch !== null")
        page.click("#conv-go")
        page.wait_for_function("window.voxmorph.converted !== null || window.voxmorph.error", timeout=120000)
        conv = page.evaluate("() => ({error: window.voxmorph.error, size: window.voxmorph.converted, "
                             "inp: window.voxmorph.inputPitch, out: window.voxmorph.outputPitch})")
        assert conv["error"] is None and conv["size"] > 44
        f_in = np.array([f for f in conv["inp"] if f > 0])
        f_out = np.array([f for f in conv["out"] if f > 0])
        assert f_in.size > 10 and np.median(f_out) > 1.4 * np.median(f_in)  # the plots show the raised pitch
        assert page.get_attribute("#conv-download", "href").startswith("blob:")

        page.click("button[data-tab=speak]")
        page.fill("#speak-text", "The weather is lovely today.")
        page.select_option("#speak-emotion", "happy")
        page.fill("#speak-intensity", "0.5")
        page.click("#speak-go")
        page.wait_for_function("window.voxmorph.spoken !== null || window.voxmorph.error", timeout=120000)
        assert page.evaluate("window.voxmorph.error") is None
        assert page.evaluate("window.voxmorph.spoken") > 44 + 2 * SAMPLE_RATE  # over a second of speech

        page.click("button[data-tab=voices]")
        page.wait_for_selector("#voice-rows tr")
        page.set_input_files("#enrol-files", [str(female_wav), str(female_wav2)])
        page.fill("#enrol-name", "anna")
        page.click("#enrol-go")
        page.wait_for_function("window.voxmorph.enrolled !== null || window.voxmorph.error", timeout=240000)
        assert page.evaluate("window.voxmorph.error") is None
        page.wait_for_selector("button[data-voice=anna]")
        assert page.locator("#speak-voice option[value=anna]").count() == 1  # offered in every tab
        page.click("button[data-voice=anna]")
        page.wait_for_selector("button[data-voice=anna]", state="detached")
        page.fill("#enrol-name", ".hidden")
        page.set_input_files("#enrol-files", [str(female_wav)])
        page.click("#enrol-go")
        page.wait_for_function("window.voxmorph.error !== null")
        assert "invalid voice name" in page.inner_text("#error")  # the server's message, shown
        browser.close()
