"""Run logs on the main process: TensorBoard scalars, audio samples and spectrogram plots.

Everything lands in the run folder: ``logs/`` (TensorBoard: ``tensorboard --logdir RUN/logs``),
``samples/step-N/NAME.wav`` and ``NAME.png``, and ``metrics.jsonl`` (one line per logged step,
readable without TensorBoard).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.features import log_mel
from voxmorph.audio.io import save_audio
from voxmorph.train.recipe import Sample


def spectrogram_figure(audio: np.ndarray, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mel = log_mel(audio).numpy()
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.imshow(mel, origin="lower", aspect="auto", vmin=-11.5, vmax=max(float(mel.max()), -5.0),
              extent=(0, len(audio) / SAMPLE_RATE, 0, mel.shape[0]))
    ax.set(title=title, xlabel="seconds", ylabel="mel band")
    fig.tight_layout()
    return fig


class RunLogger:
    """Writes only when ``enabled`` (the main process of a multi-process run)."""

    def __init__(self, run_dir: Path, enabled: bool = True, start_step: int = 0):
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run_dir / "logs"), purge_step=start_step or None)
            self._forget_after(start_step)

    def _forget_after(self, step: int) -> None:
        """Drop metrics a killed run logged after the checkpoint it is resumed from."""
        path = self.run_dir / "metrics.jsonl"
        if path.exists():
            lines = [ln for ln in path.read_text(encoding="utf-8").splitlines()
                     if ln.strip() and json.loads(ln)["step"] <= step]
            path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        if not self.enabled:
            return
        for k, v in values.items():
            self.writer.add_scalar(k, v, step)
        with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"step": step, **{k: round(float(v), 6) for k, v in values.items()}}) + "\n")

    def samples(self, step: int, samples: Sequence[Sample]) -> None:
        if not self.enabled:
            return
        import matplotlib.pyplot as plt

        folder = self.run_dir / "samples" / f"step-{step:08d}"
        folder.mkdir(parents=True, exist_ok=True)
        for s in samples:
            audio = np.clip(s.audio, -1.0, 1.0)
            save_audio(folder / f"{s.name}.wav", audio)
            fig = spectrogram_figure(audio, f"{s.name}, step {step}")
            fig.savefig(folder / f"{s.name}.png", dpi=80)
            self.writer.add_figure(f"mel/{s.name}", fig, step)
            plt.close(fig)
            self.writer.add_audio(f"audio/{s.name}", audio[None], step, SAMPLE_RATE)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
