"""How close to the recording can the source-filter vocoder's synthesis get, and where is the gap?

On development recordings the benchmark never reads (LJSpeech and two EmoDB speakers, both outside
the vocoder's training data; or, with ``--vcc``, VCC2016 training files in the benchmark's
recording conditions), each file is resynthesised by:

- ``neural``: the trained vocoder (what ``voxmorph vocode`` does);
- ``world``: WORLD analysis and synthesis;
- ``fitted (same noise)``: the vocoder's synthesis with its per-frame filters optimised directly
  against the recording (the default recipe's reconstruction losses: mel L1 and multi-resolution
  STFT with its weights, no loudness weighting; Adam, ``--fit-steps``), one fixed noise draw
  throughout: the filters can shape that very draw, which no network can, so this bounds from above;
- ``fitted (fresh noise)``: the same, with a new noise draw every step and another one to listen
  to: close to the best filters any network could predict for this synthesis and these losses.

With ``--phase``, instead: whether freedom in the phase lifts that fitted ceiling — the fresh-noise
fit as above; with a free phase per frame and bin on the harmonic filter too (it is minimum-phase
otherwise); and either with an added phase-aware loss (anti-wrapped group-delay and
instantaneous-frequency differences from the recording at 512/128, weighted by the recording's
magnitude), which sees what the magnitude losses cannot.

Then two swaps at the STFT (512 points, hop 128): a system's magnitudes with the recording's phase
and the recording's magnitudes with the system's phase, which say whether its gap is in the
spectral magnitudes or in the phase. DNSMOS OVRL/SIG/BAK and MCD against the recording.

    python scripts/vocoder_ceiling.py --out runs/bench/vocoder_ceiling [--vcc] [--phase]
        [--model DIR] [--data DIR]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.constants import HOP, SAMPLE_RATE
from voxmorph.audio.io import load_audio
from voxmorph.eval import metrics
from voxmorph.eval.report import write_report
from voxmorph.models.excitation import complex_mul, filter_frames, frame_spectra, minimum_phase
from voxmorph.models.vocoder import MAX_LOG_GAIN, SourceFilterVocoder
from voxmorph.pipeline.vocoder import NeuralVocoder, WorldVocoder
from voxmorph.train import losses
from voxmorph.train.vocoder import VocoderRecipeConfig

SECONDS = 4
SWAP_FFT, SWAP_HOP = 512, 128


def dev_files(data: Path, vcc: bool) -> list[Path]:
    if vcc:
        return [sorted((data / "vcc2016_train" / spk).glob("*.flac"))[i]
                for spk in ("SF1", "SM1", "TF2", "TM3") for i in (3, 30, 70)]
    lj = sorted((data / "ljspeech").rglob("*.flac"))[:6]
    emo = [p for p in sorted((data / "emodb" / "wav").glob("*.flac")) if p.stem[:2] in ("03", "08")
           and p.stem[5] == "N"][:6]
    return lj + emo


def _anti_wrapped(d: torch.Tensor) -> torch.Tensor:
    return (d - 2 * math.pi * torch.round(d / (2 * math.pi))).abs()


def phase_loss(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Group-delay and instantaneous-frequency differences from ``target``, anti-wrapped, weighted
    by the target's magnitude (square root, peak-normalised)."""
    window = torch.hann_window(SWAP_FFT)
    a = torch.stft(y, SWAP_FFT, SWAP_HOP, window=window, return_complex=True)
    b = torch.stft(target, SWAP_FFT, SWAP_HOP, window=window, return_complex=True)
    pa, pb = torch.angle(a), torch.angle(b)
    w = (b.abs() / b.abs().amax()) ** 0.5
    gd = _anti_wrapped(torch.diff(pa, dim=-2) - torch.diff(pb, dim=-2)) * w[..., 1:, :]
    inst = _anti_wrapped(torch.diff(pa, dim=-1) - torch.diff(pb, dim=-1)) * w[..., 1:]
    return (gd.mean() + inst.mean()) / w.mean()


def fitted(model: SourceFilterVocoder, x: np.ndarray, mel: torch.Tensor, f0: np.ndarray, steps: int,
           fresh: bool, free_phase: bool = False, phase_weight: float = 0.0) -> np.ndarray:
    """The vocoder's synthesis with free per-frame filters fitted to ``x`` (start: the model's);
    ``free_phase``: a free phase per frame and bin on the harmonic filter as well;
    ``phase_weight``: of :func:`phase_loss` added to the recipe's losses."""
    mel = torch.as_tensor(mel, dtype=torch.float32)[None]
    t = mel.shape[-1]
    n = min(len(x), t * HOP)
    target = torch.as_tensor(x[:n], dtype=torch.float32)[None]
    gen = torch.Generator().manual_seed(0)
    cond, pulses, noise = model.inputs(mel, torch.as_tensor(f0, dtype=torch.float32)[None],
                                       torch.randn(1, t * HOP, generator=gen))
    with torch.no_grad():
        gains = model.log_gains(model.backbone(cond))
    gains.requires_grad_(True)
    phase = torch.zeros(gains.shape[:2] + gains.shape[-1:], requires_grad=free_phase)
    opt = torch.optim.Adam([gains, phase] if free_phase else [gains], 0.02)
    recipe = VocoderRecipeConfig()
    w = recipe.weights

    def render(src: torch.Tensor) -> torch.Tensor:
        if not free_phase:
            return model.synthesise(gains.clamp(max=MAX_LOG_GAIN), pulses, src)[:, HOP : HOP + n]
        response = minimum_phase(gains.clamp(max=MAX_LOG_GAIN))
        harmonic = complex_mul(response[:, :, 0], torch.stack([phase.cos(), phase.sin()], -1))
        spectra = (complex_mul(frame_spectra(pulses), harmonic)
                   + complex_mul(frame_spectra(src), response[:, :, 1]))
        return filter_frames(spectra)[:, HOP : HOP + n]

    def draw() -> torch.Tensor:
        return torch.nn.functional.pad(torch.randn(1, t * HOP, generator=gen), (HOP, 0))

    for _ in range(steps):
        y = render(draw() if fresh else noise)
        loss = (w["mel"] * losses.mel_l1(y, target, recipe.loudness)
                + w["stft"] * losses.multi_resolution_stft(y, target))
        if phase_weight:
            loss = loss + phase_weight * phase_loss(y, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return render(draw() if fresh else noise)[0].numpy()


def _stft(v: np.ndarray) -> torch.Tensor:
    return torch.stft(torch.as_tensor(v, dtype=torch.float32), SWAP_FFT, SWAP_HOP,
                      window=torch.hann_window(SWAP_FFT), return_complex=True)


def swapped(mag_of: np.ndarray, phase_of: np.ndarray) -> np.ndarray:
    """Audio with the STFT magnitudes of one signal and the phase of the other."""
    n = min(len(mag_of), len(phase_of))
    a, b = _stft(mag_of[:n]), _stft(phase_of[:n])
    s = a.abs() * b / b.abs().clamp(min=1e-9)
    return torch.istft(s, SWAP_FFT, SWAP_HOP, window=torch.hann_window(SWAP_FFT), length=n).numpy()


def _phase_outputs(model: SourceFilterVocoder, x, mel, f0, steps: int) -> dict[str, np.ndarray]:
    return {"fitted (fresh noise)": fitted(model, x, mel, f0, steps, fresh=True),
            "fitted + free harmonic phase": fitted(model, x, mel, f0, steps, True, free_phase=True),
            "fitted + free harmonic phase + phase loss": fitted(model, x, mel, f0, steps, True, True, 1.0),
            "fitted + phase loss": fitted(model, x, mel, f0, steps, True, phase_weight=1.0)}


def run(files: list[Path], model_dir: Path | None, steps: int, phase: bool = False) -> list[dict]:
    neural, world = NeuralVocoder.load(model_dir), WorldVocoder()
    rows = []
    for path in files:
        x = load_audio(path)[: SECONDS * SAMPLE_RATE]
        ref = metrics.Analysis(x)
        mel, f0 = neural.analyse(x)
        outs = {"neural": neural.resynthesise(x), "world": world.resynthesise(x)}
        if phase:
            outs.update(_phase_outputs(neural.model, x, mel, f0, steps))
        else:
            outs["fitted (same noise)"] = fitted(neural.model, x, mel, f0, steps, fresh=False)
            outs["fitted (fresh noise)"] = fitted(neural.model, x, mel, f0, steps, fresh=True)
            for name in ("neural", "fitted (fresh noise)"):
                outs[f"{name}: its magnitude, recording's phase"] = swapped(outs[name], x)
                outs[f"{name}: recording's magnitude, its phase"] = swapped(x, outs[name])
        rows.append({"file": path.name, "system": "recording", **metrics.dnsmos(x)})
        for name, y in outs.items():
            rows.append({"file": path.name, "system": name, **metrics.dnsmos(y),
                         "mcd": metrics.mcd(ref, metrics.Analysis(y))})
        print(path.name, flush=True)
    return rows


def render_markdown(rows: list[dict], files: list[Path], steps: int) -> str:
    systems = list(dict.fromkeys(r["system"] for r in rows))
    lines = ["# How far the source-filter synthesis can go", "",
             f"{len(files)} development files (first {SECONDS} s each): "
             + ", ".join(sorted({f"{p.parts[-3]}/{p.parts[-2]}" for p in files}))
             + f"; filters fitted for {steps} steps.",
             "", "| system | DNSMOS OVRL | SIG | BAK | MCD dB |", "|---|---:|---:|---:|---:|"]
    for s in systems:
        sub = [r for r in rows if r["system"] == s]
        mean = {k: np.mean([r[k] for r in sub]) for k in ("ovrl", "sig", "bak")}
        mcd = f"{np.mean([r['mcd'] for r in sub]):.2f}" if "mcd" in sub[0] else ""
        lines.append(f"| {s} | {mean['ovrl']:.3f} | {mean['sig']:.3f} | {mean['bak']:.3f} | {mcd} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--vcc", action="store_true", help="VCC2016 training files instead of LJSpeech/EmoDB")
    ap.add_argument("--model", type=Path, default=None, help="vocoder folder (default: the shipped one)")
    ap.add_argument("--fit-steps", type=int, default=300)
    ap.add_argument("--phase", action="store_true", help="fits with a free harmonic phase and a phase "
                    "loss instead of the noise and swap variants")
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    files = dev_files(args.data, args.vcc)
    rows = run(files, args.model, args.fit_steps, args.phase)
    md = render_markdown(rows, files, args.fit_steps)
    write_report(args.out, {"files": [str(p) for p in files], "fit_steps": args.fit_steps,
                            "phase": args.phase, "rows": rows}, md)
    print(md)


if __name__ == "__main__":
    main()
