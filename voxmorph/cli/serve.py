"""``voxmorph serve``: the web app and HTTP API, with its limits as options."""

from __future__ import annotations

from typing import Annotated

import typer

from voxmorph.cli.common import ModelOption

LOCAL = ("127.0.0.1", "localhost", "::1")

def serve(
    host: Annotated[str, typer.Option(
        help="Address to listen on. 127.0.0.1: this machine only; 0.0.0.0: every network "
        "(use --token then).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    voice: Annotated[str, typer.Option(help="Voice selected when the page opens.")] = "vcc-tf1",
    gate: Annotated[bool, typer.Option(help="Live: silence everything that is not speech.")] = True,
    model: ModelOption = "neural",
    token: Annotated[str | None, typer.Option(
        envvar="VOXMORPH_TOKEN", help="Require 'Authorization: Bearer TOKEN' on every route and "
        "?token=TOKEN on the WebSocket (the page asks for it once).")] = None,
    live_streams: Annotated[int | None, typer.Option(
        help="Live streams admitted at once (default: measured at start, as many as fit in "
        "--live-load of one core).")] = None,
    live_load: Annotated[float, typer.Option(
        help="Share of one core the live streams may take together (they share the server's "
        "interpreter).")] = 0.4,
    workers: Annotated[int, typer.Option(help="HTTP jobs (convert, speak, enrol) run at once, each "
                                         "in a lower-priority process.")] = 1,
    queue: Annotated[int, typer.Option(help="HTTP jobs that may wait; more get 429.")] = 4,
    upload_mb: Annotated[float, typer.Option(help="Largest request body, MB.")] = 25.0,
    upload_seconds: Annotated[float, typer.Option(help="Longest recording accepted, s.")] = 120.0,
    enrol_files: Annotated[int, typer.Option(help="Most takes per enrolment.")] = 10,
    text_chars: Annotated[int, typer.Option(help="Longest text to speak, characters.")] = 2000,
    ws_message_kb: Annotated[float, typer.Option(help="Largest live WebSocket message, KiB.")] = 64.0,
    idle_seconds: Annotated[float, typer.Option(help="Close a live stream silent this long.")] = 30.0,
    session_minutes: Annotated[float, typer.Option(help="Close a live stream after this long.")] = 60.0,
):
    """Serve the web app (Live, Convert, Speak, Voices) and its HTTP API (docs at /api/docs).

    Live streams are admitted only as far as this machine can run them in real time (measured at
    start); HTTP jobs run in a bounded pool and get 429 when its queue is full. Every limit above
    is enforced with a JSON error that names it.
    """
    import uvicorn

    from voxmorph.errors import UserError
    from voxmorph.pipeline.converters import for_streaming
    from voxmorph.serve.app import create_app
    from voxmorph.serve.limits import ServerLimits

    if token is not None and not token.strip():
        raise UserError("--token is empty")
    limits = ServerLimits(upload_mb, upload_seconds, enrol_files, text_chars, workers, queue, live_streams,
                          live_load, ws_message_kb, idle_seconds, session_minutes)
    if host not in LOCAL:
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can use the "
                   "server" + ("" if token else "; set --token to require a password"), err=True)
    for_streaming()
    app = create_app(default_voice=voice, gate=gate, model=model, limits=limits, token=token)
    s = app.admission.status()
    cost = f", one stream costs {s['cost_rtf']:.2f} of a core" if s["cost_rtf"] is not None else ""
    typer.echo(f"voxmorph on http://{host}:{port}/ ({model} converter; {s['capacity']} live stream(s) "
               f"admitted{cost}; {workers} HTTP worker(s), queue {queue})", err=True)
    app.pool.warm()
    import os

    if app.pool.server_cpus:  # the workers keep to the last core; the live streams have the rest
        os.sched_setaffinity(0, app.pool.server_cpus)
    import gc

    gc.freeze()  # the models' objects out of the collector's way: no long full collections mid-stream
    import sys

    # a live reply passes the GIL between the event loop and the stream's thread several times;
    # with the default 5 ms switch interval, a busy HTTP thread makes each hand-over wait that long
    sys.setswitchinterval(0.0005)
    # uvicorn drops a message over twice the limit itself; up to that, the app answers with the limit
    uvicorn.run(app, host=host, port=port, log_level="warning", ws_max_size=2 * limits.ws_message_bytes)
