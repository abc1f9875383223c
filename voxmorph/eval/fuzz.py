"""Fuzzing the inputs a server takes from strangers: audio files, voice folders and the HTTP API.

Three targets, each a property checked by hypothesis over ``examples`` generated cases:

- :func:`fuzz_decoder`: random bytes and byte-level mutations (overwrites, truncation) of valid
  WAV/FLAC/OGG files -> :func:`~voxmorph.audio.io.load_audio` returns finite float32 mono
  audio or raises :class:`~voxmorph.errors.AudioError`, nothing else;
- :func:`fuzz_voice_loader`: a built-in voice folder with its ``voice.json`` values replaced by
  arbitrary JSON, the text or ``stats.npz`` bytes mutated -> a :class:`Voice` or
  :class:`~voxmorph.errors.VoiceError`;
- :func:`fuzz_api`: schemathesis generates requests from the server's OpenAPI schema (a share of
  them with a real voice name, so the work behind the checks is reached) -> never a 5xx.

A failure raises hypothesis' shrunk counterexample. The test suite runs a short budget;
``voxmorph bench fuzz`` a long one with a report.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.io import load_audio
from voxmorph.errors import AudioError, VoiceError
from voxmorph.paths import BUILTIN_VOICES_DIR
from voxmorph.voices.voice import load_voice

SEED_VOICE = "vcc-tf1"
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=4),
                    max_leaves=12)


def _settings(examples: int):
    return settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def seed_files() -> dict[str, bytes]:
    """Small valid files in the formats uploads arrive in (0.3 s of a tone)."""
    t = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    x = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    out = {}
    for fmt, subtype in (("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("WAV", "FLOAT")):
        buf = io.BytesIO()
        sf.write(buf, np.stack([x, x], 1) if subtype == "FLOAT" else x, SAMPLE_RATE, format=fmt,
                 subtype=subtype)
        out[f"{fmt}-{subtype}"] = buf.getvalue()
    return out


@st.composite
def mutated(draw, seeds: dict[str, bytes]) -> bytes:
    data = bytearray(seeds[draw(st.sampled_from(sorted(seeds)))])
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at : at + 4] = draw(st.binary(min_size=1, max_size=4))
    if draw(st.booleans()):
        del data[draw(st.integers(1, len(data))):]
    return bytes(data)


def fuzz_decoder(examples: int, workdir: Path) -> int:
    """Cases run; raises on the first input that breaks the property."""
    seeds, count = seed_files(), [0]
    path = Path(workdir) / "upload.audio"

    @given(data=st.one_of(st.binary(max_size=2048), mutated(seeds)))
    @_settings(examples)
    def check(data: bytes) -> None:
        count[0] += 1
        path.write_bytes(data)
        try:
            x = load_audio(path)
        except AudioError:
            return
        assert x.dtype == np.float32 and x.ndim == 1 and np.isfinite(x).all()

    check()
    return count[0]


def _replace_at(meta, path: list, value):
    """``meta`` with the value at a key path (indices into dict keys/list items) replaced."""
    if not path or not isinstance(meta, (dict, list)) or not meta:
        return value
    keys = list(meta) if isinstance(meta, dict) else list(range(len(meta)))
    key = keys[path[0] % len(keys)]
    meta = dict(meta) if isinstance(meta, dict) else list(meta)
    meta[key] = _replace_at(meta[key], path[1:], value)
    return meta


def fuzz_voice_loader(examples: int, workdir: Path) -> int:
    source = BUILTIN_VOICES_DIR / SEED_VOICE
    meta = json.loads((source / "voice.json").read_text())
    stats = (source / "stats.npz").read_bytes()
    count = [0]
    edits = st.one_of(
        st.tuples(st.just("value"), st.lists(st.integers(0, 50), min_size=1, max_size=4), JSON),
        st.tuples(st.just("text"), mutated({"json": json.dumps(meta).encode()}), st.none()),
        st.tuples(st.just("stats"), mutated({"npz": stats}), st.none()),
        st.tuples(st.just("document"), JSON, st.none()))

    @given(edit=edits)
    @_settings(examples)
    def check(edit) -> None:
        count[0] += 1
        kind, what, value = edit
        folder = Path(tempfile.mkdtemp(dir=workdir)) / SEED_VOICE
        shutil.copytree(source, folder)
        if kind == "value":
            (folder / "voice.json").write_text(json.dumps(_replace_at(meta, what, value)))
        elif kind == "text":
            (folder / "voice.json").write_bytes(what)
        elif kind == "stats":
            (folder / "stats.npz").write_bytes(what)
        else:
            (folder / "voice.json").write_text(json.dumps(what))
        try:
            voice = load_voice(folder)
        except VoiceError:
            return
        finally:
            shutil.rmtree(folder.parent)
        assert np.isfinite(voice.embedding).all() and voice.stats.log_f0_std > 0

    check()
    return count[0]


def fuzz_api(app, examples: int, real_voice: str = SEED_VOICE) -> dict[str, dict]:
    """Per operation: cases run and the status codes seen; raises on a 5xx."""
    import schemathesis

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen = {}
    for result in schema.get_all_operations():
        op = result.ok()
        seen[op.label] = _fuzz_operation(op, examples, real_voice)
    return seen


def _fuzz_operation(op, examples: int, real_voice: str) -> dict:
    codes: dict[int, int] = {}

    @given(case=op.as_strategy(), real=st.booleans())
    @_settings(examples)
    def check(case, real: bool) -> None:
        if real and isinstance(case.body, dict) and "voice" in case.body:
            case.body["voice"] = real_voice
        if real and case.path_parameters and "name" in case.path_parameters:
            case.path_parameters["name"] = real_voice
        response = case.call()
        codes[response.status_code] = codes.get(response.status_code, 0) + 1
        assert response.status_code < 500, f"{op.label}: {response.status_code} {response.text[:200]}"

    check()
    return {"cases": sum(codes.values()), "statuses": dict(sorted(codes.items()))}


def run_fuzz(out: Path, examples: int) -> tuple[str, int]:
    """Every target with ``examples`` cases (API: a tenth, per operation) -> report; failures are
    recorded with hypothesis' smallest counterexample, not raised. Returns (markdown, failures)."""
    from fastapi.testclient import TestClient

    from voxmorph.eval.report import write_report
    from voxmorph.serve.app import create_app
    from voxmorph.serve.limits import ServerLimits
    from voxmorph.voices.store import VoiceStore

    rows = []

    def target(name: str, run) -> None:
        try:
            rows.append({"target": name, **run(), "failure": None})
        except Exception as err:  # the property broke: keep the counterexample for the report
            notes = "\n".join(getattr(err, "__notes__", []))  # hypothesis' falsifying example
            rows.append({"target": name, "cases": None,
                         "failure": f"{type(err).__name__}: {err}\n{notes}"[:3000]})

    with tempfile.TemporaryDirectory(prefix="voxmorph-fuzz-") as tmp:
        tmp = Path(tmp)
        target("audio decoder", lambda: {"cases": fuzz_decoder(examples, tmp)})
        target("voice loader", lambda: {"cases": fuzz_voice_loader(examples, tmp)})
        app = create_app(VoiceStore(tmp / "voices"), model="world", limits=ServerLimits(live_streams=1))
        with TestClient(app):
            target("HTTP API", lambda: {"cases": None, "operations": fuzz_api(app, max(1, examples // 10))})
    lines = ["# Fuzzing", "", f"{examples} generated cases per target; {max(1, examples // 10)} per API "
             "operation (schemathesis, from the OpenAPI schema).", "",
             "| target | cases | failures | statuses seen |", "|---|---:|---:|---|"]
    for r in rows:
        ops = r.get("operations") or {}
        for op, o in ops.items():
            lines.append(f"| API {op} | {o['cases']} | 0 | {o['statuses']} |")
        if not ops:
            lines.append(f"| {r['target']} | {r['cases'] or '-'} | {int(r['failure'] is not None)} | |")
    failures = [r for r in rows if r["failure"]]
    lines += [f"\n**{r['target']}** failed:\n\n```\n{r['failure']}\n```" for r in failures]
    md = "\n".join(lines) + "\n"
    write_report(out, {"examples": examples, "targets": rows}, md)
    return md, len(failures)
