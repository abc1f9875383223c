"""The server's HTTP API and its limits: voices, convert, speak, enrol/delete, token, body and
duration limits, the job queue's 429, live admission and the WebSocket's limits."""

from __future__ import annotations

import asyncio
import io
import time

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.yin import yin_f0
from voxmorph.pipeline.converters import streaming_converter
from voxmorph.serve.admission import LiveAdmission
from voxmorph.serve.app import HEADER, create_app
from voxmorph.serve.limits import CLOSE_BUSY, CLOSE_TIMEOUT, CLOSE_TOO_LARGE, HttpError, ServerLimits
from voxmorph.serve.workers import WorkPool
from voxmorph.voices.store import VoiceStore

LIMITS = ServerLimits(upload_mb=2, upload_seconds=20, text_chars=300, live_streams=1, idle_seconds=1.0)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One app (WORLD live converter, one worker process) for the module; its own voice folder."""
    store = VoiceStore(tmp_path_factory.mktemp("voices"))
    app = create_app(store, model="world", limits=LIMITS)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _post_convert(client, data: bytes, name: str = "in.flac", **form):
    return client.post("/api/convert", files={"audio": (name, data, "audio/flac")},
                       data={"voice": "vcc-tf1", **form})


def _error(r, status: int, *words: str) -> str:
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert all(w in message for w in words), message
    return message


def test_voices_lists_kinds_and_abilities(server):
    info = server.get("/api/voices").json()
    rows = {v["name"]: v for v in info["voices"]}
    assert rows["vcc-tf1"]["kind"] == "built-in" and "delete" not in rows["vcc-tf1"]["can"]
    assert set(rows["vcc-tf1"]["can"]) == {"convert", "live", "speak"}
    status = server.get("/api/status").json()
    assert status["live"]["capacity"] == 1 and status["limits"]["text_chars"] == 300
    assert "happy" in status["emotions"] and server.get("/openapi.json").json()["paths"]["/api/convert"]


def test_convert_returns_the_voice(server, male_wav, male_audio):
    r = _post_convert(server, male_wav.read_bytes(), model="world")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    y, sr = sf.read(io.BytesIO(r.content), dtype="float32")
    assert sr == SAMPLE_RATE and abs(y.size - male_audio.size) < SAMPLE_RATE // 10
    f_in, f_out = yin_f0(male_audio, 160), yin_f0(y, 160)
    assert np.median(f_out[f_out > 0]) > 1.5 * np.median(f_in[f_in > 0])  # male in, female voice out


def test_convert_refusals_are_json_with_the_reason(server, male_wav):
    _error(_post_convert(server, b"not audio at all", "x.wav"), 415, "x.wav", "not a readable audio")
    _error(_post_convert(server, male_wav.read_bytes(), voice="nobody"), 404, "nobody")
    _error(_post_convert(server, male_wav.read_bytes(), voice="../../etc"), 400, "invalid voice name")
    _error(_post_convert(server, male_wav.read_bytes(), model="gan"), 400, "unknown converter")
    _error(_post_convert(server, male_wav.read_bytes(), emotion="happy", model="world"), 400, "neural")
    _error(_post_convert(server, male_wav.read_bytes(), pitch_shift="99"), 422, "pitch_shift")
    _error(_post_convert(server, b"\0" * 3_000_000), 413, "2 MB")
    long = io.BytesIO()
    sf.write(long, np.zeros(25 * SAMPLE_RATE, np.float32), SAMPLE_RATE, format="FLAC")
    _error(_post_convert(server, long.getvalue()), 413, "20 s")
    silent = io.BytesIO()
    sf.write(silent, np.zeros(3 * SAMPLE_RATE, np.float32), SAMPLE_RATE, format="FLAC")
    message = _error(_post_convert(server, silent.getvalue(), "quiet.flac", model="world"), 400, "no speech")
    assert "quiet.flac" in message and "voxmorph-serve" not in message  # no server paths leak


def test_speak_streams_a_wav_and_checks_its_input(server):
    with server.stream("POST", "/api/speak", json={"text": "Hello there. How are you today?",
                                                   "voice": "vcc-tf1", "seed": 1}) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        assert "content-length" not in r.headers  # streamed: uvicorn sends it chunked
        body = b"".join(r.iter_bytes())
    assert body[:4] == b"RIFF" and body[36:40] == b"data"
    y = np.frombuffer(body[44:], "<i2").astype(np.float32) / 32768
    assert y.size > SAMPLE_RATE and np.sqrt(np.mean(y**2)) > 0.01
    _error(server.post("/api/speak", json={"text": "?!", "voice": "vcc-tf1"}), 400, "no words")
    _error(server.post("/api/speak", json={"text": "a" * 301, "voice": "vcc-tf1"}), 413, "300")
    _error(server.post("/api/speak", json={"text": "Hi.", "voice": "vcc-tf1", "emotion": "bored"}), 400,
           "unknown emotion")
    _error(server.post("/api/speak", json={"text": "Hi.", "voice": "vcc-tf1", "rate": 10}), 422, "rate")
    _error(server.post("/api/speak", json={"text": "Hi."}), 422, "voice")
    _error(server.post("/api/speak", content=b"{not json", headers={"content-type": "application/json"}),
           422)


@pytest.mark.slow
def test_enrol_list_and_delete_a_voice(server, female_wav, female_wav2):
    files = [("files", (p.name, p.read_bytes(), "audio/flac")) for p in (female_wav, female_wav2)]
    r = server.post("/api/voices/anna", files=files, data={"description": "test"})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "anna" and "delete" in r.json()["can"]
    assert "anna" in [v["name"] for v in server.get("/api/voices").json()["voices"]]
    _error(server.post("/api/voices/anna", files=files), 409, "already exists")
    _error(server.post("/api/voices/vcc-tf1", files=files), 409, "built-in")
    _error(server.post("/api/voices/.hidden", files=files), 400, "invalid voice name")
    _error(server.post("/api/voices/bob", files=[("files", ("n.wav", b"RIFF", "audio/wav"))]), 415, "n.wav")
    with server.websocket_connect("/ws/live?voice=anna") as ws:  # the new voice is live at once
        ws.send_bytes(HEADER.pack(3.0) + np.zeros(160, np.float32).tobytes())
        assert HEADER.unpack(ws.receive_bytes()[: HEADER.size])[0] == 3.0
    _error(server.delete("/api/voices/vcc-tf1"), 403, "built-in")
    assert server.delete("/api/voices/anna").json() == {"deleted": "anna"}
    _error(server.delete("/api/voices/anna"), 404, "anna")
    with server.websocket_connect("/ws/live?voice=anna") as ws:  # and gone from live once deleted
        assert "unknown voice 'anna'" in ws.receive_json()["error"]


def test_token_guards_every_route_but_the_page(tmp_path):
    app = create_app(VoiceStore(tmp_path), model="world", limits=LIMITS, token="s3cret")
    client = TestClient(app)
    assert client.get("/").status_code == 200 and client.get("/static/app.js").status_code == 200
    _error(client.get("/api/voices"), 401, "token")
    _error(client.get("/openapi.json", headers={"Authorization": "Bearer wrong"}), 401)
    assert client.get("/api/voices", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws/live") as ws:
        ws.receive_bytes()
    assert closed.value.code == 4401
    with client.websocket_connect("/ws/live?token=s3cret") as ws:
        ws.send_bytes(HEADER.pack(1.0) + np.zeros(160, np.float32).tobytes())
        assert HEADER.unpack(ws.receive_bytes()[: HEADER.size])[0] == 1.0


def test_a_full_queue_gets_429_with_retry_after():
    pool = WorkPool(workers=1, queue=0)

    async def two_at_once():
        first = asyncio.ensure_future(pool.run(time.sleep, 2.0))
        await asyncio.sleep(0.05)
        with pytest.raises(HttpError) as refused:
            await pool.run(time.sleep, 0.0)
        await first
        return refused.value

    try:
        err = asyncio.run(two_at_once())
        assert err.status == 429 and int(err.headers["Retry-After"]) >= 1 and "busy" in str(err)
        assert pool.refused == 1 and pool.in_flight == 0
        asyncio.run(pool.run(time.sleep, 0.0))  # admitted again once the first is done
    finally:
        pool.close()


def test_live_admission_refuses_one_stream_too_many(server):
    with server.websocket_connect("/ws/live?voice=vcc-tf1") as first:
        first.send_bytes(HEADER.pack(0.0) + np.zeros(160, np.float32).tobytes())
        first.receive_bytes()
        with server.websocket_connect("/ws/live") as second:
            assert "in use" in second.receive_json()["error"]
            with pytest.raises(WebSocketDisconnect) as closed:
                second.receive_bytes()
            assert closed.value.code == CLOSE_BUSY
        first.send_bytes(HEADER.pack(1.0) + np.zeros(160, np.float32).tobytes())  # unaffected
        assert HEADER.unpack(first.receive_bytes()[: HEADER.size])[0] == 1.0
    with server.websocket_connect("/ws/live") as again:  # the slot is free once the first ended
        again.send_bytes(HEADER.pack(2.0) + np.zeros(160, np.float32).tobytes())
        assert HEADER.unpack(again.receive_bytes()[: HEADER.size])[0] == 2.0


def test_websocket_limits(server):
    with server.websocket_connect("/ws/live") as ws:
        ws.send_text("hello")
        assert "binary" in ws.receive_json()["error"]
        ws.send_bytes(HEADER.pack(0.0) + np.full(160, np.nan, np.float32).tobytes())
        assert "NaN" in ws.receive_json()["error"]
        ws.send_bytes(HEADER.pack(0.0) + np.zeros(20_000, np.float32).tobytes())
        assert "limit" in ws.receive_json()["error"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
        assert closed.value.code == CLOSE_TOO_LARGE
    with server.websocket_connect("/ws/live") as ws:
        assert "nothing received for 1 s" in ws.receive_json()["error"]  # idle limit: 1 s here
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
        assert closed.value.code == CLOSE_TIMEOUT


def test_admission_is_measured_from_the_cost_of_one_stream(tmp_path):
    converter = streaming_converter("world", VoiceStore(tmp_path).get("vcc-tf1"))
    admission = LiveAdmission.measure(converter, live_load=0.5)
    assert 0 < admission.cost < 5
    assert admission.capacity == max(int(admission.cost < 0.7), int(0.5 / admission.cost))
    turned_off = LiveAdmission.measure(converter, 0.5, capacity=0)
    assert turned_off.busy_message().startswith("live streams are turned off")


def test_limits_are_checked():
    with pytest.raises(Exception, match="--upload-mb"):
        ServerLimits(upload_mb=0)
    with pytest.raises(Exception, match="--workers"):
        ServerLimits(workers=0)
