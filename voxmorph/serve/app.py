"""The server: the web app (Live, Convert, Speak, Voices), its HTTP API and the live WebSocket.

:func:`create_app` builds everything a server holds (voice store, converters, the worker pool for
HTTP jobs, the live admission count) — nothing at import. Errors are JSON ``{"error": ...}``
with their status; anything unexpected is logged and answered 500 with a generic message (the
fuzz tests hold that to zero). Two pure ASGI layers sit in front: the bearer token (when set, on
every route but the page shell and its static files; the WebSocket takes it as ``?token=``) and the
request-size limit (413 before the body is read when ``Content-Length`` is too large, and while
reading when it is absent).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import threading
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from voxmorph.emotion.names import EMOTIONS
from voxmorph.errors import UserError, VoiceError
from voxmorph.pipeline.converters import streaming_converter
from voxmorph.pipeline.streaming import StreamingConverter
from voxmorph.serve.admission import LiveAdmission
from voxmorph.serve.api import ApiContext, router, voice_stamp
from voxmorph.serve.limits import CLOSE_UNAUTHORISED, HttpError, ServerLimits
from voxmorph.serve.live import HEADER, LiveEndpoint
from voxmorph.serve.workers import WorkPool
from voxmorph.voices.store import VoiceStore

__all__ = ["HEADER", "create_app"]

STATIC = Path(__file__).parent / "static"
PUBLIC = ("/", "/static/")
log = logging.getLogger("voxmorph.serve")


def _json_error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class _TooLarge(Exception):
    pass


class Guard:
    """ASGI layer: bearer token and request-size limit."""

    def __init__(self, app, token: str | None, max_bytes: int):
        self.app, self.token, self.max_bytes = app, token, max_bytes

    def _authorised(self, scope) -> bool:
        if self.token is None or scope["path"] == "/" or scope["path"].startswith(PUBLIC[1]):
            return True
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"").decode("latin-1")
        if given.startswith("Bearer "):
            given = given[7:]
        else:
            from urllib.parse import parse_qs

            given = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token") or [""])[0]
        return hmac.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        if not self._authorised(scope):
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": CLOSE_UNAUTHORISED})
            return await _json_error(401, "missing or wrong token: send 'Authorization: Bearer TOKEN'",
                                     {"WWW-Authenticate": "Bearer"})(scope, receive, send)
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        limit = f"the request is larger than the server's limit of {self.max_bytes / 1e6:g} MB"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            return await _json_error(413, limit)(scope, receive, send)
        seen, started = 0, False

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await _json_error(413, limit)(scope, receive, send)


def create_app(store: VoiceStore | None = None, default_voice: str = "vcc-tf1", gate: bool = True,
               model: str = "neural", limits: ServerLimits = ServerLimits(), token: str | None = None,
               pool: WorkPool | None = None) -> Guard:
    """``model``: the converter live streams use and convert's default, ``neural`` or ``world``."""
    store = store or VoiceStore()
    models = None
    if model == "neural":
        from voxmorph.pipeline.neural.models import NeuralModels

        models = NeuralModels.load()  # once, shared by every voice's live converter
    converters: dict[str, tuple[tuple, StreamingConverter]] = {}
    cache_lock = threading.Lock()

    def converter_for(name: str) -> StreamingConverter:
        """The live converter of a voice, built again when the voice was replaced since."""
        with cache_lock:
            stamp = voice_stamp(store, name)
            if name not in converters or converters[name][0] != stamp:
                converters[name] = (stamp, streaming_converter(model, store.get(name), models=models))
            return converters[name][1]

    first = converter_for(default_voice)  # an unknown voice or model fails here, not on a connection
    admission = LiveAdmission.measure(first, limits.live_load, limits.live_streams, gate)
    pool = pool or WorkPool(limits.workers, limits.queue)
    live = LiveEndpoint(converter_for, admission, limits, gate)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        pool.close()
        live.pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="voxmorph", version="1", docs_url="/api/docs", lifespan=lifespan,
                  description="Voice conversion and speech synthesis on a CPU. Errors are "
                  '`{"error": "..."}` with the status; limits are in `GET /api/status`.')
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(router(ApiContext(store, pool, limits, model)))

    @app.exception_handler(HttpError)
    async def _http_error(_request: Request, err: HttpError) -> JSONResponse:
        return _json_error(err.status, str(err), err.headers)

    @app.exception_handler(UserError)
    async def _user_error(_request: Request, err: UserError) -> JSONResponse:
        unknown = isinstance(err, VoiceError) and str(err).startswith("unknown voice")
        return _json_error(404 if unknown else 400, str(err))

    @app.exception_handler(HTTPException)
    async def _starlette_error(_request: Request, err: HTTPException) -> JSONResponse:
        return _json_error(err.status_code, str(err.detail), getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, err: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(x) for x in e.get('loc', ())[1:]) or 'request'}: {e.get('msg')}"
                 for e in err.errors()]
        return _json_error(422, "; ".join(parts)[:500] or "invalid request")

    @app.exception_handler(Exception)
    async def _bug(_request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=err)
        return _json_error(500, "internal error (the server's log has the details)")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/status", summary="The converter, the live streams admitted and in use, the limits")
    def status() -> dict:
        return {"model": model, "default_voice": default_voice, "emotions": list(EMOTIONS),
                "delay_ms": 1000.0 * first.delay / first.sample_rate, "live": admission.status(),
                "jobs": {"workers": pool.workers, "queue": pool.queue, "in_flight": pool.in_flight,
                         "refused": pool.refused},
                "limits": json.loads(json.dumps(limits.__dict__))}

    @app.websocket("/ws/live")
    async def ws_live(ws: WebSocket, voice: str = default_voice) -> None:
        await live(ws, voice)

    guarded = Guard(app, token, limits.upload_bytes)
    guarded.fastapi, guarded.admission, guarded.pool = app, admission, pool
    return guarded
