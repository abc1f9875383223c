"""The HTTP API: voices (list, enrol, delete), convert a recording, speak text.

Uploads are written to a private temporary folder, checked (decodable audio, duration limit)
in the server process, and handed to a worker (:mod:`voxmorph.serve.workers`); the folder is
removed when the request ends, whatever happened. Every refusal is a :class:`HttpError` or a
:class:`~voxmorph.errors.UserError`, which the app turns into ``{"error": ...}`` with its status.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from voxmorph.audio.io import probe
from voxmorph.emotion.names import check_emotion
from voxmorph.errors import UserError
from voxmorph.pipeline.converters import MODELS
from voxmorph.serve import workers
from voxmorph.serve.limits import HttpError, ServerLimits
from voxmorph.serve.workers import WorkPool
from voxmorph.voices.store import VoiceStore
from voxmorph.voices.voice import check_name

COPY_BLOCK = 1 << 20


@dataclass
class ApiContext:
    store: VoiceStore
    pool: WorkPool
    limits: ServerLimits
    model: str


class SpeakRequest(BaseModel):
    text: str = Field(description="What to say (numbers, dates and money are read out).")
    voice: str = Field(description="A voice name from GET /api/voices.")
    emotion: str | None = Field(None, description="An emotion (see `voxmorph emotions`); none: neutral.")
    intensity: float | None = Field(None, ge=0.0, le=1.5, description="Of the emotion: 0 none, 1 as acted.")
    rate: float = Field(1.0, ge=0.25, le=4.0, description="Speaking rate: 1 normal.")
    seed: int | None = Field(None, ge=0, lt=2**31, description="Same seed, same take.")


def _safe_suffix(filename: str | None) -> str:
    suffix = Path(filename or "").suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix) else ".audio"


async def _save_upload(upload: UploadFile, folder: Path, stem: str, limits: ServerLimits) -> Path:
    """Copy an upload to ``folder`` and check it is audio within the duration limit."""
    path = folder / f"{stem}{_safe_suffix(upload.filename)}"
    with path.open("wb") as f:
        while block := await upload.read(COPY_BLOCK):
            f.write(block)
    shown = upload.filename or "upload"
    try:
        info = probe(path)
    except UserError as err:
        raise HttpError(415, str(err).replace(str(path), shown)) from None
    if info.duration > limits.upload_seconds:
        raise HttpError(413, f"{shown}: {info.duration:.1f} s of audio; the limit is "
                        f"{limits.upload_seconds:g} s")
    return path


def _named(err: UserError, folder: Path, shown: str) -> UserError:
    """The error with the temporary file's path replaced by the name the user uploaded."""
    text = re.sub(re.escape(str(folder)) + r"/[^:]*", shown, str(err))
    return HttpError(err.status, text, err.headers) if isinstance(err, HttpError) else UserError(text)


def voice_stamp(store: VoiceStore, name: str) -> tuple:
    """What a voice's files are now (path and modification time of each ``voice.json``): changes
    when the voice is enrolled again, replaced or deleted."""
    found = []
    for base in (store.user_dir, store.builtin_dir):
        with contextlib.suppress(OSError):
            f = base / name / "voice.json"
            found.append((str(f), f.stat().st_mtime_ns))
    return tuple(found)


def voice_row(store: VoiceStore, name: str) -> dict:
    builtin = name in store.builtin_names() and name not in store.user_names()
    try:
        s = store.get(name).summary()
    except UserError as err:
        return {"name": name, "kind": "damaged", "builtin": builtin, "can": ["delete"], "error": str(err)}
    kind = "built-in" if s["builtin"] else s["kind"]
    can = ["convert", "live", "speak"] + ([] if builtin else ["delete"])
    return {"name": name, "kind": kind, "builtin": builtin, "can": can,
            "f0_median_hz": s["f0_median_hz"], "description": s["description"]}


def router(ctx: ApiContext) -> APIRouter:
    api = APIRouter(prefix="/api")
    store, limits, pool = ctx.store, ctx.limits, ctx.pool
    voices_dir = str(store.user_dir)

    def known_voice(name: str) -> str:
        check_name(name)
        if not store.exists(name):
            raise HttpError(404, f"unknown voice '{name}' (GET /api/voices lists them)")
        return name

    rows: dict[str, tuple[tuple, dict]] = {}  # name -> (what its voice.json was, its row)

    def cached_row(name: str) -> dict:
        """A voice's row, re-read only when its voice.json changed (loading every voice on every
        list would hold the GIL the live streams need)."""
        stamp = voice_stamp(store, name)
        if name not in rows or rows[name][0] != stamp:
            rows[name] = (stamp, voice_row(store, name))
        return rows[name][1]

    @api.get("/voices", summary="The voices and what each can do")
    def voices() -> dict:
        return {"voices": [cached_row(n) for n in store.names()], "model": ctx.model}

    @api.post("/voices/{name}", status_code=201, summary="Enrol a voice from a few recordings")
    async def enrol(name: str,
                    files: Annotated[list[UploadFile], File(description="Recordings of one speaker")],
                    description: Annotated[str, Form(max_length=200)] = "",
                    replace: Annotated[bool, Form()] = False) -> dict:
        check_name(name)
        if name in store.builtin_names():
            raise HttpError(409, f"'{name}' is a built-in voice; choose another name")
        if store.exists(name) and not replace:
            raise HttpError(409, f"voice '{name}' already exists; send replace=true to replace it")
        if len(files) > limits.enrol_files:
            raise HttpError(413, f"{len(files)} files; the limit is {limits.enrol_files} per enrolment")
        with tempfile.TemporaryDirectory(prefix="voxmorph-serve-") as tmp:
            paths = [str(await _save_upload(f, Path(tmp), f"take{i}", limits)) for i, f in enumerate(files)]
            try:
                summary = await pool.run(workers.enrol_job, voices_dir, name, paths, description, replace)
            except UserError as err:
                raise _named(err, Path(tmp), "a recording") from None
        return cached_row(summary["name"])

    @api.delete("/voices/{name}", summary="Delete an enrolled voice")
    def delete(name: str) -> dict:
        known_voice(name)
        if name not in store.user_names():
            raise HttpError(403, f"'{name}' is a built-in voice and cannot be deleted")
        store.remove(name)
        return {"deleted": name}

    @api.post("/convert", summary="Convert a recording into a voice", response_class=Response,
              responses={200: {"content": {"audio/wav": {}}, "description": "16 kHz mono WAV"}})
    async def convert(audio: Annotated[UploadFile, File(description="A recording, any common format")],
                      voice: Annotated[str, Form()],
                      model: Annotated[str, Form(description="neural or world")] = ctx.model,
                      pitch_shift: Annotated[float, Form(ge=-24, le=24)] = 0.0,
                      denoise: Annotated[bool, Form()] = False,
                      emotion: Annotated[str | None, Form()] = None,
                      intensity: Annotated[float | None, Form(ge=0, le=1.5)] = None) -> Response:
        known_voice(voice)
        if model not in MODELS:
            raise HttpError(400, f"unknown converter '{model}'; choose {' or '.join(MODELS)}")
        if emotion is not None:
            emotion, intensity = check_emotion(emotion, intensity)
        elif intensity is not None:
            raise HttpError(400, "intensity goes with emotion")
        with tempfile.TemporaryDirectory(prefix="voxmorph-serve-") as tmp:
            path = await _save_upload(audio, Path(tmp), "input", limits)
            try:
                wav = await pool.run(workers.convert_job, voices_dir, str(path), voice, model,
                                     pitch_shift, denoise, emotion, intensity)
            except UserError as err:
                raise _named(err, Path(tmp), audio.filename or "upload") from None
        return Response(wav, media_type="audio/wav")

    @api.post("/speak", summary="Speak text in a voice (WAV, streamed sentence by sentence)",
              response_class=StreamingResponse,
              responses={200: {"content": {"audio/wav": {}}, "description": "16 kHz mono WAV, chunked"}})
    async def speak(req: SpeakRequest) -> StreamingResponse:
        from voxmorph.pipeline.speak import Synthesiser

        if len(req.text) > limits.text_chars:
            raise HttpError(413, f"text of {len(req.text)} characters; the limit is {limits.text_chars}")
        known_voice(req.voice)
        emotion, intensity = req.emotion, req.intensity
        if emotion is not None:
            emotion, intensity = check_emotion(emotion, intensity)
        elif intensity is not None:
            raise HttpError(400, "intensity goes with emotion")
        Synthesiser.sentences(req.text)  # nothing to say: 400 now, not a broken stream later
        chunks = await pool.stream(workers.speak_job, voices_dir, req.voice, req.text, emotion, intensity,
                                   req.rate, req.seed)

        async def body():
            yield workers.streaming_wav_header()
            async for part in chunks:
                yield part

        return StreamingResponse(body(), media_type="audio/wav")

    return api
