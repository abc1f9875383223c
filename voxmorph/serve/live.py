"""``WS /ws/live?voice=NAME``: live conversion of PCM as it arrives, within the server's limits.

Protocol: the page sends binary messages of a float64 timestamp (its own clock, ms) followed by
float32 16 kHz mono samples, a multiple of the converter's hop (160 samples divides by both
converters' hops). The server answers each with the same timestamp and as many converted samples,
so the page measures the round trip; conversion runs in a thread of the live pool, one stream (and
gate) per connection. A JSON text message ``{"error": ...}`` reports a problem; the fatal ones
(no free stream, unknown voice, a message over the size limit, idle or too long) are followed by
a close with a code from :mod:`voxmorph.serve.limits`.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

from voxmorph.errors import UserError
from voxmorph.pipeline.streaming import StreamingConverter
from voxmorph.realtime.gate import GatedStream, VoiceGate
from voxmorph.serve.admission import LiveAdmission
from voxmorph.serve.limits import (
    CLOSE_BAD_REQUEST,
    CLOSE_BUSY,
    CLOSE_TIMEOUT,
    CLOSE_TOO_LARGE,
    ServerLimits,
)

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


class LiveEndpoint:
    """The WebSocket handler, holding the admission count and the threads streams run on."""

    def __init__(self, converter_for: Callable[[str], StreamingConverter], admission: LiveAdmission,
                 limits: ServerLimits, gate: bool):
        self.converter_for, self.admission, self.limits, self.gate = converter_for, admission, limits, gate
        self.pool = ThreadPoolExecutor(max(1, admission.capacity), thread_name_prefix="live")

    def _session(self, voice: str) -> LiveSession:
        return LiveSession(self.converter_for(voice), self.gate)

    async def _refuse(self, ws: WebSocket, message: str, code: int) -> None:
        await ws.send_json({"error": message})
        await ws.close(code)

    async def __call__(self, ws: WebSocket, voice: str) -> None:
        await ws.accept()
        if not self.admission.acquire():
            await self._refuse(ws, self.admission.busy_message(), CLOSE_BUSY)
            return
        try:
            try:  # off the event loop: building a voice's converter and gate takes a while
                session = await asyncio.get_running_loop().run_in_executor(None, self._session, voice)
            except UserError as err:
                await self._refuse(ws, str(err), CLOSE_BAD_REQUEST)
                return
            await self._serve(ws, session)
        except WebSocketDisconnect:
            return
        finally:
            self.admission.release()

    async def _serve(self, ws: WebSocket, session: LiveSession) -> None:
        limits, loop = self.limits, asyncio.get_running_loop()
        ends = time.monotonic() + 60 * limits.session_minutes
        while True:
            left = ends - time.monotonic()
            if left <= 0:
                await self._refuse(ws, f"a live session lasts at most {limits.session_minutes:g} min "
                                   "(the server's limit); start again", CLOSE_TIMEOUT)
                return
            try:
                message = await asyncio.wait_for(ws.receive(), min(limits.idle_seconds, left))
            except asyncio.TimeoutError:
                if time.monotonic() < ends:
                    await self._refuse(ws, f"nothing received for {limits.idle_seconds:g} s; "
                                       "the stream was closed", CLOSE_TIMEOUT)
                    return
                continue
            if message["type"] == "websocket.disconnect":
                return
            msg = message.get("bytes")
            if msg is None:
                await ws.send_json({"error": "send binary messages: a float64 timestamp and float32 samples"})
                continue
            if len(msg) > limits.ws_message_bytes:
                await self._refuse(ws, f"message of {len(msg)} bytes; the limit is "
                                   f"{limits.ws_message_bytes} bytes", CLOSE_TOO_LARGE)
                return
            if len(msg) < HEADER.size or (len(msg) - HEADER.size) % 4:
                await ws.send_json({"error": "expected a float64 timestamp and float32 samples"})
                continue
            samples = np.frombuffer(msg, np.float32, offset=HEADER.size)
            if samples.size % session.hop:
                await ws.send_json({"error": f"send multiples of {session.hop} samples"})
                continue
            if not np.isfinite(samples).all():
                await ws.send_json({"error": "the samples hold NaN or infinite values"})
                continue
            started = time.monotonic()
            y = await loop.run_in_executor(self.pool, session.process, samples)
            await ws.send_bytes(msg[: HEADER.size] + y.astype(np.float32).tobytes())
            self.admission.record_block(time.monotonic() - started)
