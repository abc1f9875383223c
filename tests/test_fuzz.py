"""Fuzzing with a short budget (``voxmorph bench fuzz`` runs a long one): the audio decoder, the
voice-folder loader and the HTTP API (schemathesis over the OpenAPI schema) hold their property
on every generated case."""

from __future__ import annotations

from fastapi.testclient import TestClient

from voxmorph.eval import fuzz
from voxmorph.serve.app import create_app
from voxmorph.serve.limits import ServerLimits
from voxmorph.voices.store import VoiceStore


def test_decoder_returns_audio_or_a_clear_error(tmp_path):
    assert fuzz.fuzz_decoder(300, tmp_path) == 300


def test_voice_loader_returns_a_voice_or_a_clear_error(tmp_path):
    assert fuzz.fuzz_voice_loader(300, tmp_path) == 300


def test_the_seed_files_decode():
    """The mutations start from files that are valid: a fuzz case is a change from a good input."""
    import io

    import soundfile as sf

    for name, data in fuzz.seed_files().items():
        assert sf.info(io.BytesIO(data)).frames > 4000, name


def test_api_never_answers_5xx(tmp_path):
    app = create_app(VoiceStore(tmp_path), model="world", limits=ServerLimits(live_streams=1, upload_mb=1))
    with TestClient(app):  # starts and stops the worker pool
        seen = fuzz.fuzz_api(app, 25)
    assert {"POST /api/convert", "POST /api/speak", "POST /api/voices/{name}",
            "DELETE /api/voices/{name}", "GET /api/voices"} <= set(seen)
    statuses = {code for op in seen.values() for code in op["statuses"]}
    assert statuses and max(statuses) < 500 and 200 in statuses
