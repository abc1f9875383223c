"""Vocoders for inference: features -> waveform, and copy synthesis (audio -> features -> audio).

- :class:`NeuralVocoder`: the trained source-filter vocoder (log-mel + F0), in PyTorch or, with
  ``runtime="onnx"``, in onnxruntime. The default model ships inside the package.
- :class:`WorldVocoder`: WORLD analysis and synthesis, the no-training baseline.

Both offer ``resynthesise(x) -> y`` on ``(n,)`` float audio at :data:`SAMPLE_RATE`, which is what
``voxmorph vocode`` and the vocoder benchmark call. No optimiser or discriminator lives here.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from voxmorph.audio import world
from voxmorph.audio.constants import FRAME_RATE, HOP, SAMPLE_RATE
from voxmorph.audio.f0 import get_tracker
from voxmorph.audio.features import log_mel
from voxmorph.audio.world_mel import render_log_mel
from voxmorph.errors import UserError
from voxmorph.models.excitation import centred_f0
from voxmorph.models.onnx import ONNX_FILE, cached_onnx
from voxmorph.models.vocoder import SourceFilterVocoder, VocoderStream, load_vocoder
from voxmorph.paths import shipped_model

CHUNK_FRAMES = 3000
"""Frames (30 s) above which synthesis runs through the stream in chunks, in bounded memory."""

class Vocoder(Protocol):
    name: str

    def resynthesise(self, x: np.ndarray) -> np.ndarray:
        """``(n,)`` audio -> ``(n,)`` audio through the vocoder's own analysis and synthesis."""
        ...


class NeuralVocoder:
    """``synthesise(mel (N_MELS, T), f0 (T,)) -> (T * HOP,)`` float32 audio."""

    name = "neural"

    def __init__(self, model: SourceFilterVocoder, meta: dict | None = None, f0_tracker: str = "harvest",
                 runtime: str = "torch", seed: int = 0, onnx_path: Path | None = None,
                 threads: int | None = None, chunk_frames: int = CHUNK_FRAMES, folder: Path | None = None):
        if runtime not in ("torch", "onnx"):
            raise UserError(f"unknown runtime '{runtime}'; choose torch or onnx")
        self.model = model.eval()
        self.meta = meta or {}
        self.tracker = get_tracker(f0_tracker)
        self.runtime = runtime
        self.chunk_frames = chunk_frames
        self.seed = seed
        self.onnx_path = onnx_path
        self.folder = folder
        """Where the weights came from (None: a model in memory)."""
        self._render = model.render
        if runtime == "onnx":
            from voxmorph.models.onnx import OnnxRender, export_onnx

            if self.onnx_path is not None:
                self._render = OnnxRender(self.onnx_path, threads)
            else:
                with tempfile.TemporaryDirectory() as tmp:  # onnxruntime reads the file once
                    export_onnx(model, Path(tmp) / ONNX_FILE)
                    self._render = OnnxRender(Path(tmp) / ONNX_FILE, threads)

    @classmethod
    def load(cls, folder: str | Path | None = None, **kw) -> NeuralVocoder:
        folder = Path(folder) if folder else shipped_model("vocoder")
        if not (folder / "config.json").exists():
            raise UserError(f"{folder}: no trained vocoder here (config.json missing)")
        model, meta = load_vocoder(folder)
        onnx = cached_onnx(model, folder) if kw.get("runtime") == "onnx" else None
        return cls(model, meta, onnx_path=onnx, folder=folder, **kw)

    @torch.inference_mode()
    def synthesise(self, mel: np.ndarray | torch.Tensor, f0: np.ndarray | torch.Tensor) -> np.ndarray:
        mel = torch.as_tensor(mel, dtype=torch.float32)[None]
        f0 = torch.as_tensor(f0, dtype=torch.float32)[None]
        t = mel.shape[-1]
        # the noise excitation restarts from the seed on every call: the same input gives the same
        # audio whatever was synthesised before
        noise = torch.randn(1, t * HOP, generator=torch.Generator().manual_seed(self.seed))
        if self.runtime == "torch" and t > self.chunk_frames:
            return self._synthesise_chunked(mel, f0, noise)
        cond, pulses, noise = SourceFilterVocoder.inputs(mel, f0, noise)
        return self._render(cond, pulses, noise)[0, HOP : HOP + t * HOP].numpy()

    def _synthesise_chunked(self, mel: torch.Tensor, f0: torch.Tensor, noise: torch.Tensor) -> np.ndarray:
        """The same output through the model's stream, ``chunk_frames`` at a time: the per-frame
        filters of a long file never sit in memory at once."""
        t, c = mel.shape[-1], self.chunk_frames
        f0_s = centred_f0(f0)
        stream = VocoderStream(self.model)
        parts = [stream.process(mel[..., i : i + c], f0[:, i : i + c], f0_s[:, i * HOP : (i + c) * HOP],
                                noise[:, i * HOP : (i + c) * HOP]) for i in range(0, t, c)]
        parts.append(stream.ola[:, :HOP])  # the last, partial hop still in the overlap-add tail
        return torch.cat(parts, dim=-1)[0, HOP : HOP + t * HOP].numpy()

    def analyse(self, x: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        """``(n,)`` audio -> log-mel ``(N_MELS, T)`` and F0 ``(T,)`` on the same 10 ms grid."""
        mel = log_mel(x)
        f0 = self.tracker(x, SAMPLE_RATE, 1000.0 / FRAME_RATE)[: mel.shape[-1]]
        return mel, np.pad(f0, (0, mel.shape[-1] - len(f0)))

    def resynthesise(self, x: np.ndarray) -> np.ndarray:
        return self.synthesise(*self.analyse(x))[: len(x)]

    def synthesise_world(self, feats: world.WorldFeatures) -> np.ndarray:
        """WORLD features (any frame period dividing 10 ms) -> audio: the mel they describe
        (:func:`~voxmorph.audio.world_mel.render_log_mel`) through the vocoder. A drop-in for
        :func:`voxmorph.audio.world.synthesise` in the baseline converter."""
        step = round(1000.0 / FRAME_RATE / feats.frame_period_ms)
        f0, sp, ap = feats.f0[::step], feats.sp[::step], feats.ap[::step]
        return self.synthesise(render_log_mel(f0, sp, ap), f0)


class WorldVocoder:
    """WORLD copy synthesis (Harvest, CheapTrick, D4C at 5 ms, then WORLD's synthesiser)."""

    name = "world"

    def __init__(self, f0_tracker: str = "harvest"):
        self.tracker = get_tracker(f0_tracker)

    def resynthesise(self, x: np.ndarray) -> np.ndarray:
        y = world.synthesise(world.analyse(x, SAMPLE_RATE, self.tracker))
        return np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]


def get_vocoder(name: str, model: str | Path | None = None, f0_tracker: str = "harvest",
                runtime: str = "torch") -> Vocoder:
    if name == "world":
        return WorldVocoder(f0_tracker)
    if name == "neural":
        return NeuralVocoder.load(model, f0_tracker=f0_tracker, runtime=runtime)
    raise UserError(f"unknown vocoder '{name}'; choose neural or world")
