"""Sound devices through sounddevice (PortAudio): listing them and running the engine on them.

Every failure a user can meet (no PortAudio library, no device, a name that matches nothing, a
device that refuses the format) becomes a one-line :class:`~voxmorph.errors.UserError`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from voxmorph.errors import UserError
from voxmorph.realtime.engine import LiveEngine


def _sd():
    try:
        import sounddevice
    except OSError as err:  # the PortAudio shared library is missing
        raise UserError(f"audio devices unavailable: {err} (install libportaudio2)") from None
    return sounddevice


def list_devices() -> list[dict]:
    """Every device PortAudio sees: index, name, channel counts, default rate, default flags."""
    sd = _sd()
    try:
        devices = sd.query_devices()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as err:
        raise UserError(f"cannot query audio devices: {err}") from None
    return [
        {
            "index": d["index"],
            "name": d["name"],
            "inputs": d["max_input_channels"],
            "outputs": d["max_output_channels"],
            "default_rate": d["default_samplerate"],
            "default": ("in " if d["index"] == default_in else "")
            + ("out" if d["index"] == default_out else ""),
        }
        for d in devices
    ]


def resolve(device: str | None, kind: str) -> int | None:
    """A device index from an index or a case-insensitive name fragment; None = the default."""
    devices = [d for d in list_devices() if d["inputs" if kind == "input" else "outputs"] > 0]
    if not devices:
        raise UserError(f"no audio {kind} device found; convert files with --input/--output, "
                        "or use the browser with 'voxmorph serve'")
    if device is None:
        return None
    if device.isdigit():
        if int(device) in {d["index"] for d in devices}:
            return int(device)
        raise UserError(f"no {kind} device with index {device}; see 'voxmorph devices'")
    hits = [d["index"] for d in devices if device.lower() in d["name"].lower()]
    if len(hits) != 1:
        what = "matches no" if not hits else "matches several"
        raise UserError(f"'{device}' {what} {kind} device; see 'voxmorph devices'")
    return hits[0]


@contextmanager
def open_duplex(engine: LiveEngine, input_device: str | None, output_device: str | None,
                monitor: bool = False) -> Iterator[dict]:
    """Run ``engine`` on real devices until the context exits. Yields a live info dict with the
    device latency PortAudio reports and counts of device over/underruns. With ``monitor`` the
    converted voice also plays on the default output device."""
    sd = _sd()
    plan = engine.plan
    ins, outs = resolve(input_device, "input"), resolve(output_device, "output")
    info = {"device_latency_ms": 0.0, "xruns": 0}
    monitor_ring: list[np.ndarray] = []
    lock = threading.Lock()

    def callback(indata, outdata, frames, time_info, status):
        if status:
            info["xruns"] += 1
        out = engine.callback(indata[:, 0])
        outdata[:, 0] = out
        if monitor:
            with lock:
                monitor_ring.append(out)
                del monitor_ring[:-8]

    def monitor_callback(outdata, frames, time_info, status):
        with lock:
            block = monitor_ring.pop(0) if monitor_ring else np.zeros(frames, np.float32)
        outdata[:, 0] = block[:frames]

    try:
        stream = sd.Stream(samplerate=plan.sample_rate, blocksize=plan.block, device=(ins, outs),
                           channels=1, dtype="float32", latency="low", callback=callback)
        mon = (sd.OutputStream(samplerate=plan.sample_rate, blocksize=plan.block, channels=1,
                               dtype="float32", latency="low", callback=monitor_callback)
               if monitor else None)
    except (sd.PortAudioError, ValueError) as err:
        raise UserError(f"cannot open the audio devices: {err}") from None
    with engine, stream:
        if mon is not None:
            mon.start()
        in_lat, out_lat = stream.latency
        info["device_latency_ms"] = 1000.0 * (in_lat + out_lat)
        try:
            yield info
        finally:
            if mon is not None:
                mon.stop()
                mon.close()


def _output(device: str | None) -> int | None:
    try:
        return resolve(device, "output")
    except UserError:
        raise UserError("no sound card to play on; write a file instead with -o FILE") from None


def _cannot_play(err: Exception) -> UserError:
    return UserError(f"cannot play on the sound card: {err} (write a file instead with -o FILE)")


def play(audio: np.ndarray, sample_rate: int, device: str | None = None) -> None:
    """Play ``(n,)`` float32 audio on an output device (default: the system's) and wait for the end."""
    sd = _sd()
    out = _output(device)
    try:
        sd.play(np.asarray(audio, np.float32), sample_rate, device=out)
        sd.wait()
    except (sd.PortAudioError, ValueError) as err:
        raise _cannot_play(err) from None


def play_stream(chunks, sample_rate: int, device: str | None = None) -> None:
    """Play an iterable of ``(n,)`` float32 chunks as they come (the first starts playing while the
    next is made) on an output device, and wait for the end."""
    sd = _sd()
    out = _output(device)
    try:
        with sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32", device=out) as stream:
            for chunk in chunks:
                stream.write(np.asarray(chunk, np.float32)[:, None])
    except (sd.PortAudioError, ValueError) as err:
        raise _cannot_play(err) from None
