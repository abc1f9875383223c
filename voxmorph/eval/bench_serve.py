"""Server load benchmark: a real ``voxmorph serve`` on loopback under live streams and HTTP clients.

The server runs as its own process (its own voice folder). Once it is up, this process opens
``2 x`` the live streams it admits (or ``--streams``), each sending 10 ms blocks of real speech at
real-time pace for the whole run, while a separate client process keeps ``clients`` HTTP clients
busy (convert uploads, speak requests, voice lists), each waiting for its answer (and for
``Retry-After`` when refused) before the next request. Recorded:

- live: which streams were admitted and how the others were refused (close code, message); per
  admitted stream the reply times (from the moment the block was sent) and **degraded blocks** —
  replies more than :data:`JITTER_MS` later than the stream's median reply, which a player whose
  buffer covers that much jitter would have played as a gap — and streams the server dropped.
  The client shares the server's cores (a browser elsewhere would not), so how late it sent
  blocks against their schedule is reported beside it, with the count of blocks late when
  measured from the schedule (its lateness included), and the server's own count of replies
  that left it over 50 ms after their message arrived;
- HTTP: per kind, answers, refusals (429/503, each checked for a JSON message and
  ``Retry-After``), errors (any 5xx, a malformed refusal, a failed connection) and latency
  percentiles;
- memory: resident memory of the server and its workers, sampled every second from the HTTP
  client process (curve plotted).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.errors import UserError
from voxmorph.eval.report import write_report

BLOCK = 160
JITTER_MS = 50.0
CLIENT_NICE = 10
"""The HTTP clients stand for people on other machines; on the server's own two cores they run at
lower priority so that they load the server, not compete with it for the CPU."""
HEADER = struct.Struct("<d")
SENTENCES = ["The meeting starts at ten, so please be on time.", "Could you send me the report by Friday?",
             "It rained all day, but the evening was lovely.", "Thank you for calling; how can I help?"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, workers: int, queue: int, home: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, VOXMORPH_HOME=str(home))
    cmd = [sys.executable, "-m", "voxmorph.cli", "serve", "--port", str(port), "--model", model,
           "--workers", str(workers), "--queue", str(queue)]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(600):
        if proc.poll() is not None:
            raise UserError(f"the server did not start (exit {proc.returncode}); see {log}")
        try:
            if httpx.get(url + "/api/status", timeout=1.0).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise UserError(f"the server did not answer within 5 minutes; see {log}")


def sample_memory(pid: int, stop: threading.Event, into: list, t0: float) -> None:
    import psutil

    proc = psutil.Process(pid)
    while not stop.is_set():
        try:
            server = proc.memory_info().rss
            children = sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            return
        into.append((round(time.monotonic() - t0, 1), server / 1e6, (server + children) / 1e6))
        stop.wait(1.0)


async def live_client(url: str, x: np.ndarray, seconds: float, offset: int) -> dict:
    import websockets

    loop = asyncio.get_running_loop()
    n = int(seconds * SAMPLE_RATE / BLOCK)
    arrivals: dict[int, float] = {}
    sent: dict[int, float] = {}
    errors: list[str] = []
    try:
        async with websockets.connect(url.replace("http", "ws") + "/ws/live", max_size=None) as ws:
            t0 = loop.time()

            async def send():
                for k in range(n):
                    await asyncio.sleep(max(0.0, t0 + k * BLOCK / SAMPLE_RATE - loop.time()))
                    i = (offset + k * BLOCK) % (x.size - BLOCK)
                    await ws.send(HEADER.pack(float(k)) + x[i : i + BLOCK].tobytes())
                    sent[k] = loop.time()

            sender = asyncio.ensure_future(send())
            try:
                while len(arrivals) < n:
                    msg = await asyncio.wait_for(ws.recv(), timeout=10.0)
                    if isinstance(msg, str):
                        errors.append(json.loads(msg).get("error", msg))
                        continue
                    arrivals[int(HEADER.unpack(msg[: HEADER.size])[0])] = loop.time()
            finally:
                sender.cancel()
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
        if not arrivals:
            return {"admitted": False, "code": code, "message": errors[0] if errors else None}
        return {"admitted": True, "dropped": True, "code": code, "blocks": len(arrivals), "errors": errors}
    except (OSError, asyncio.TimeoutError) as err:
        return {"admitted": bool(arrivals), "dropped": True, "code": None, "message": repr(err),
                "blocks": len(arrivals)}
    keys = sorted(k for k in arrivals if k in sent)
    rtt = np.array([arrivals[k] - sent[k] for k in keys])
    late = np.array([sent[k] - (t0 + k * BLOCK / SAMPLE_RATE) for k in keys])
    degraded = int(np.sum(rtt > np.median(rtt) + JITTER_MS / 1000))
    return {"admitted": True, "dropped": False, "blocks": len(arrivals), "degraded": degraded,
            "errors": errors, "rtt_ms": _percentiles(1000 * rtt), "send_late_ms": _percentiles(1000 * late),
            "degraded_from_schedule": int(np.sum(rtt + late > np.median(rtt + late) + JITTER_MS / 1000))}


def _percentiles(v) -> dict:
    v = np.asarray(v, float)
    if v.size == 0:
        return {}
    return {"p50": round(float(np.percentile(v, 50)), 1), "p95": round(float(np.percentile(v, 95)), 1),
            "p99": round(float(np.percentile(v, 99)), 1), "max": round(float(v.max()), 1)}


def http_load(url: str, upload: bytes, seconds: float, clients: int, model: str,
              server_pid: int) -> tuple[list[dict], list]:
    """Runs in its own process, away from the live clients: ``clients`` concurrent HTTP clients for
    ``seconds`` (one record per request) and the server's memory, sampled every second."""
    import httpx

    os.nice(CLIENT_NICE)
    memory: list = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample_memory, args=(server_pid, stop, memory, time.monotonic()),
                               daemon=True)
    sampler.start()

    async def one(i: int, client: httpx.AsyncClient, records: list) -> None:
        kinds = ("convert", "speak", "voices")
        end, k = time.monotonic() + seconds, i
        while time.monotonic() < end:
            kind = kinds[k % 3]
            k += 1
            start = time.monotonic()
            rec = {"kind": kind}
            try:
                if kind == "convert":
                    r = await client.post(url + "/api/convert", data={"voice": "vcc-sf1", "model": model},
                                          files={"audio": ("speech.wav", upload, "audio/wav")})
                elif kind == "speak":
                    r = await client.post(url + "/api/speak",
                                          json={"text": SENTENCES[k % 4], "voice": "vcc-tm1"})
                else:
                    r = await client.get(url + "/api/voices")
                rec.update(status=r.status_code, bytes=len(r.content))
                if r.status_code in (429, 503):
                    rec["retry_after"] = r.headers.get("retry-after")
                    rec["message"] = r.json().get("error")
            except (httpx.HTTPError, ValueError) as err:
                rec.update(status=None, message=repr(err))
            rec["seconds"] = time.monotonic() - start
            records.append(rec)
            if rec.get("retry_after"):
                await asyncio.sleep(min(float(rec["retry_after"]), 2.0))

    async def main() -> list[dict]:
        records: list[dict] = []
        async with httpx.AsyncClient(timeout=300.0) as client:
            await asyncio.gather(*(one(i, client, records) for i in range(clients)))
        return records

    records = asyncio.run(main())
    stop.set()
    sampler.join()
    return records, memory


def _refusal_ok(rec: dict) -> bool:
    return bool(rec.get("message")) and (rec["status"] != 429 or bool(rec.get("retry_after")))


def summarise_http(records: list[dict]) -> dict:
    out = {}
    for kind in sorted({r["kind"] for r in records}):
        rs = [r for r in records if r["kind"] == kind]
        ok = [r for r in rs if r["status"] is not None and r["status"] < 400]
        refused = [r for r in rs if r["status"] in (429, 503)]
        errors = [r for r in rs if r["status"] is None or r["status"] >= 500
                  or (r in refused and not _refusal_ok(r))]
        other = [r for r in rs if r["status"] is not None and 400 <= r["status"] < 500 and r not in refused]
        out[kind] = {"requests": len(rs), "ok": len(ok), "refused": len(refused), "errors": len(errors),
                     "other_4xx": len(other), "latency_s": _percentiles([r["seconds"] for r in ok]),
                     "error_examples": [r.get("message") or r["status"] for r in errors[:3]]}
    return out


def run_bench_serve(speech: Path, out: Path, seconds: float = 60.0, clients: int = 8,
                    streams: int | None = None, model: str = "neural", workers: int = 1,
                    queue: int = 4, baseline_seconds: float = 30.0) -> str:
    from voxmorph.audio.io import load_audio, save_audio

    x = load_audio(speech)
    with tempfile.TemporaryDirectory(prefix="voxmorph-bench-serve-") as tmp:
        tmp = Path(tmp)
        save_audio(tmp / "speech.wav", x[: 4 * SAMPLE_RATE])
        upload = (tmp / "speech.wav").read_bytes()
        out.parent.mkdir(parents=True, exist_ok=True)
        log = out.with_suffix(".server.log")
        proc, url = start_server(model, workers, queue, tmp / "home", log)
        try:
            import httpx

            status = httpx.get(url + "/api/status").json()
            n_streams = streams if streams is not None else max(2 * status["live"]["capacity"], 1)

            async def live_all(n: int, length: float):
                return await asyncio.gather(*(live_client(url, x, length, i * 7919 * BLOCK)
                                              for i in range(n)))

            # the same streams with no HTTP load first: what this machine does to them by itself
            capacity = status["live"]["capacity"]
            alone = asyncio.run(live_all(capacity, baseline_seconds)) if baseline_seconds and capacity else []
            with ProcessPoolExecutor(1) as pool:
                http = pool.submit(http_load, url, upload, seconds, clients, model, proc.pid)
                live = asyncio.run(live_all(n_streams, seconds))
                records, memory = http.result()
            end_status = httpx.get(url + "/api/status").json()
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    data = {"seconds": seconds, "clients": clients, "model": model, "workers": workers, "queue": queue,
            "jitter_ms": JITTER_MS, "client_nice": CLIENT_NICE, "speech": str(speech),
            "status_start": status, "status_end": end_status,
            "live": live, "live_alone": alone, "baseline_seconds": baseline_seconds,
            "http": summarise_http(records), "memory": memory, "cores": os.cpu_count()}
    _plot_memory(memory, out.with_suffix(".memory.png"))
    data["memory_plot"] = out.with_suffix(".memory.png").name
    write_report(out, data, render_markdown)
    return render_markdown(data)


def _plot_memory(memory: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [m[0] for m in memory]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(t, [m[1] for m in memory], label="server process")
    ax.plot(t, [m[2] for m in memory], label="server + workers")
    ax.set_xlabel("seconds")
    ax.set_ylabel("resident memory, MB")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def memory_drift(memory: list) -> tuple[float, float, float]:
    """(first, last, max) of server + workers memory, MB, over the second half of the run."""
    half = [m[2] for m in memory[len(memory) // 2 :]] or [float("nan")]
    return half[0], half[-1], max(half)


def render_markdown(d: dict) -> str:
    live = d["live"]
    admitted = [s for s in live if s["admitted"]]
    refused = [s for s in live if not s["admitted"]]
    cap = d["status_start"]["live"]
    lines = ["# Server under load", "",
             f"`voxmorph serve --model {d['model']} --workers {d['workers']} --queue {d['queue']}` on "
             f"loopback, {d['seconds']:g} s, {d['cores']} cores; {len(live)} live streams attempted at once "
             f"at real-time pace, {d['clients']} HTTP clients (convert / speak / voices in turn, in a "
             f"process at nice {d.get('client_nice', 0)}: they stand for other machines).", "",
             f"Live admission: one stream measured at {cap['cost_rtf']} of a core; "
             f"{cap['capacity']} admitted by the server's rule.", "",
             f"| live | streams | blocks | degraded (> {d['jitter_ms']:g} ms over the median) | dropped "
             "| reply p50 / p95 / p99 / max ms |", "|---|---:|---:|---:|---:|---|"]
    blocks = sum(s.get("blocks", 0) for s in admitted)
    degraded = sum(s.get("degraded", 0) for s in admitted)
    dropped = sum(bool(s.get("dropped")) for s in admitted)
    rtts = " ; ".join(" / ".join(str(s["rtt_ms"].get(k)) for k in ("p50", "p95", "p99", "max"))
                      for s in admitted if s.get("rtt_ms"))
    alone = d.get("live_alone") or []
    if alone:
        a_rtts = " ; ".join(" / ".join(str(s["rtt_ms"].get(k)) for k in ("p50", "p95", "p99", "max"))
                            for s in alone if s.get("rtt_ms"))
        lines.append(f"| alone first ({d['baseline_seconds']:g} s, no HTTP load) | "
                     f"{sum(s['admitted'] for s in alone)} | {sum(s.get('blocks', 0) for s in alone)} | "
                     f"{sum(s.get('degraded', 0) for s in alone)} | "
                     f"{sum(bool(s.get('dropped')) for s in alone)} | {a_rtts} |")
    lines.append(f"| admitted, under load | {len(admitted)} | {blocks} | {degraded} | {dropped} | {rtts} |")
    late = " ; ".join(str(s["send_late_ms"].get("p99")) for s in admitted if s.get("send_late_ms"))
    from_schedule = sum(s.get("degraded_from_schedule", 0) for s in admitted)
    end = d["status_end"]["live"]
    codes = sorted({str(s.get("code")) for s in refused})
    lines.append(f"| refused | {len(refused)} | | | | close code {', '.join(codes) or '-'} |")
    lines += ["", f"The client's own sending lateness, p99: {late or '-'} ms; blocks late measured from "
              f"their schedule (that lateness included): {from_schedule}. The server's count of replies "
              f"leaving it over 50 ms after their message: {end['slow_blocks']} of {end['blocks']} "
              f"(slowest {end['slowest_ms']} ms)."]
    if refused:
        lines += ["", f"Refusal message: \"{refused[0].get('message')}\""]
    lines += ["", "| HTTP | requests | answered | refused 429/503 | errors | other 4xx "
              "| latency p50 / p95 / p99 s |", "|---|---:|---:|---:|---:|---:|---|"]
    for kind, h in d["http"].items():
        lat = " / ".join(str(round(h["latency_s"].get(k, float("nan")), 2)) for k in ("p50", "p95", "p99"))
        lines.append(f"| {kind} | {h['requests']} | {h['ok']} | {h['refused']} | {h['errors']} | "
                     f"{h['other_4xx']} | {lat} |")
    first, last, peak = memory_drift(d["memory"])
    lines += ["", f"Memory (server + workers, second half of the run): {first:.0f} MB -> {last:.0f} MB, "
              f"peak {peak:.0f} MB; curve: {d['memory_plot']}.", ""]
    return "\n".join(lines)
