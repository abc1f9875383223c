"""FastAPI app: the live page, the voice list, and a WebSocket that converts PCM as it arrives.

Protocol of ``/ws/live?voice=NAME``: the page sends binary messages of a float64 timestamp (its
own clock, ms) followed by float32 16 kHz mono samples, a multiple of the converter's hop (160
samples divides by both converters' hops). The server answers each with the same timestamp and
as many converted samples, so the page measures the round trip; conversion runs in a worker
thread, one stream (and gate) per connection. A JSON text message ``{"error": ...}`` reports a
problem before the socket closes.

State (the voice store, converter cache) is built in :func:`create_app`, not at import.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from pathlib import Path

import numpy as np
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from voxmorph.errors import UserError
from voxmorph.pipeline.converters import streaming_converter
from voxmorph.pipeline.streaming import StreamingConverter
from voxmorph.realtime.gate import GatedStream, VoiceGate
from voxmorph.voices.store import VoiceStore

STATIC = Path(__file__).parent / "static"
HEADER = struct.Struct("<d")


class LiveSession:
    """One browser connection: a converter stream and a gate, used from one thread at a time."""

    def __init__(self, converter: StreamingConverter, gate: bool):
        self.hop = converter.hop
        self.stream = GatedStream(converter.stream(), VoiceGate() if gate else None)
        self.lock = threading.Lock()

    def process(self, block: np.ndarray) -> np.ndarray:
        with self.lock:
            return self.stream.process(block)


def create_app(store: VoiceStore | None = None, default_voice: str = "vcc-tf1",
               gate: bool = True, model: str = "neural") -> FastAPI:
    """``model``: the converter every connection uses, ``neural`` or ``world`` (as ``--model``)."""
    store = store or VoiceStore()
    app = FastAPI(title="voxmorph", docs_url="/api/docs")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    models = None
    if model == "neural":
        from voxmorph.pipeline.neural.models import NeuralModels

        models = NeuralModels.load()  # once, shared by every voice's converter
    converters: dict[str, StreamingConverter] = {}
    cache_lock = threading.Lock()

    def converter_for(name: str) -> StreamingConverter:
        with cache_lock:
            if name not in converters:
                converters[name] = streaming_converter(model, store.get(name), models=models)
            return converters[name]

    converter_for(default_voice)  # an unknown voice or model fails here, not on the first connection

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/voices")
    def voices() -> JSONResponse:
        conv = converter_for(default_voice)
        return JSONResponse({"voices": store.names(), "default": default_voice, "model": model,
                             "delay_ms": 1000.0 * conv.delay / conv.sample_rate})

    @app.websocket("/ws/live")
    async def live(ws: WebSocket, voice: str = default_voice) -> None:
        await ws.accept()
        try:
            session = LiveSession(converter_for(voice), gate)
        except UserError as err:
            await ws.send_json({"error": str(err)})
            await ws.close()
            return
        loop = asyncio.get_running_loop()
        try:
            while True:
                msg = await ws.receive_bytes()
                if len(msg) < HEADER.size or (len(msg) - HEADER.size) % 4:
                    await ws.send_json({"error": "expected a float64 timestamp and float32 samples"})
                    continue
                samples = np.frombuffer(msg, np.float32, offset=HEADER.size)
                if samples.size % session.hop:
                    await ws.send_json({"error": f"send multiples of {session.hop} samples"})
                    continue
                y = await loop.run_in_executor(None, session.process, samples)
                await ws.send_bytes(msg[: HEADER.size] + y.tobytes())
        except WebSocketDisconnect:
            return

    return app
