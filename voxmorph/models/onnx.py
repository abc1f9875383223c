"""ONNX export of the vocoder's learned part and an onnxruntime runner with the same interface.

The exported graph is :meth:`SourceFilterVocoder.render`: conditioning, pulse and noise sources ->
audio (network, minimum-phase filters, FFT filtering, overlap-add). The excitation (a cumulative
phase in float64 and a causal hold of F0) stays outside, in the same torch code for both runtimes.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.constants import N_MELS
from voxmorph.audio.io import atomic_path
from voxmorph.models.checkpoint_io import weights_id
from voxmorph.models.vocoder import SourceFilterVocoder
from voxmorph.paths import user_cache_dir

ONNX_FILE = "vocoder.onnx"
"""Name of the exported graph inside a vocoder folder."""


class _Render(torch.nn.Module):
    def __init__(self, model: SourceFilterVocoder):
        super().__init__()
        self.model = model

    def forward(self, cond, pulses, noise):
        return self.model.render(cond, pulses, noise)


def export_onnx(model: SourceFilterVocoder, path: str | Path, frames: int = 100) -> None:
    """Write ``model``'s render graph to ``path`` (dynamic length), atomically."""
    mel, f0 = torch.full((1, N_MELS, frames), -5.0), torch.full((1, frames), 120.0)
    cond, pulses, noise = SourceFilterVocoder.inputs(mel, f0)
    t, n = torch.export.Dim("frames"), torch.export.Dim("samples")
    quiet = logging.getLogger("torch.onnx")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the exporter logs optional-package notes nobody can act on
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            _Render(model.eval()), (cond, pulses, noise), input_names=["cond", "pulses", "noise"],
            output_names=["audio"], dynamic_shapes={"cond": {2: t}, "pulses": {1: n}, "noise": {1: n}},
            dynamo=True, verbose=False,
        )
        program.save(str(tmp))
    quiet.setLevel(level)


def cached_onnx(model: SourceFilterVocoder, folder: str | Path) -> Path:
    """The ONNX form of the vocoder saved in ``folder``: its own ``vocoder.onnx`` where a run
    exported one, else an export made on first use into the user cache, named by the weights'
    fingerprint (about 15 s, once). The safetensors are the one shipped form of each model."""
    own = Path(folder) / ONNX_FILE
    if own.exists():
        return own
    path = user_cache_dir() / "onnx" / f"vocoder-{weights_id(folder)}.onnx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        export_onnx(model, path)
    return path


class OnnxRender:
    """``render(cond, pulses, noise)`` through onnxruntime, on torch tensors in and out."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, cond: torch.Tensor, pulses: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        feeds = {"cond": cond.numpy(), "pulses": pulses.numpy(), "noise": noise.numpy()}
        return torch.from_numpy(np.asarray(self.session.run(None, feeds)[0]))
