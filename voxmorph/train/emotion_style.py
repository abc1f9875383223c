"""Learning :class:`~voxmorph.emotion.style.EmotionStyle` from acted speech: every recording of an
emotion is paired with the same speaker's neutral reading of the same sentence, both are measured
(:func:`describe`), and each emotion's style is the mean change over its pairs. Pairs need a
sentence key: the transcript, or EmoDB's text code in the file name.

Measured, not trained: means over a few hundred pairs take seconds after the analysis.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import loudness, normalise_loudness
from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.audio.features import energy_db, log_mel
from voxmorph.audio.io import load_audio
from voxmorph.data.corpora import Utterance
from voxmorph.emotion.style import EmotionStyle
from voxmorph.errors import UserError

SPEECH_RANGE_DB = 35.0


@dataclass(frozen=True)
class Delivery:
    level_st: float
    range_st: float
    frames: int
    dynamics_db: float
    loudness_db: float
    mel: np.ndarray


def describe(x: np.ndarray) -> Delivery:
    """Median pitch and its spread (semitones re 100 Hz, voiced frames), speech frames, loudness
    variation over them, integrated loudness, and their mean log-mel (loudness removed)."""
    level = loudness(x, SAMPLE_RATE)
    x = normalise_loudness(x, SAMPLE_RATE)
    f0 = mel_frame_f0(get_tracker("dio"), x)
    mel, e = log_mel(x).numpy(), energy_db(x).numpy()
    t = min(f0.size, mel.shape[1], e.size)
    f0, mel, e = f0[:t], mel[:, :t], e[:t]
    speech = e > e.max() - SPEECH_RANGE_DB
    st = 12.0 * np.log2(f0[f0 > 0] / 100.0)
    if st.size < 3:
        st = np.zeros(3)
    return Delivery(float(np.median(st)), float(np.std(st)) + 1e-3, int(speech.sum()),
                    float(np.std(e[speech])) + 1e-3, float(level), mel[:, speech].mean(1))


def sentence_key(u: Utterance) -> str | None:
    if u.text:
        return u.text.strip().lower()
    if u.corpus == "emodb":
        return u.path.stem[2:5]
    return None


def parallel_takes(utterances: Sequence[Utterance], emotions: Sequence[str]
                   ) -> dict[tuple[str, str], dict[str, list[Utterance]]]:
    """``{(speaker, sentence): {emotion: takes}}`` of ``emotions`` and neutral, for the sentences a
    speaker also read neutrally (parallel takes: what the styles and the prosody model learn
    from), in a fixed order."""
    groups: dict[tuple[str, str], dict[str, list[Utterance]]] = defaultdict(lambda: defaultdict(list))
    for u in utterances:
        key = sentence_key(u)
        if key is not None and u.emotion in (*emotions, "neutral"):
            groups[(u.speaker, key)][u.emotion].append(u)
    return {k: dict(v) for k, v in sorted(groups.items()) if "neutral" in v}


def fit_styles(utterances: Sequence[Utterance], emotions: Sequence[str],
               progress: Callable[[], None] | None = None) -> dict[str, EmotionStyle]:
    """Each of ``emotions``' mean change from neutral over same-speaker, same-sentence pairs;
    ``progress()`` after each recording analysed."""
    changes: dict[str, list[dict]] = defaultdict(list)
    for takes in parallel_takes(utterances, emotions).values():
        described = {}
        for emotion, found in takes.items():
            described[emotion] = [describe(load_audio(u.path)) for u in found]
            if progress:
                for _ in found:
                    progress()
        n = described["neutral"][0]
        for emotion, found in described.items():
            for d in found:
                changes[emotion].append({
                    "level_st": d.level_st - n.level_st, "range_log": np.log(d.range_st / n.range_st),
                    "tempo_log": np.log(d.frames / max(n.frames, 1)),
                    "dynamics_log": np.log(d.dynamics_db / n.dynamics_db),
                    "loudness_db": d.loudness_db - n.loudness_db, "mel": d.mel - n.mel})
    missing = [e for e in emotions if not changes.get(e)]
    if missing:
        raise UserError(f"no pairs of a neutral and a {', '.join(missing)} reading of the same "
                        "sentence by the same speaker: the emotion model needs parallel recordings")
    styles = {}
    for emotion in emotions:
        rows = changes[emotion]
        mean = {k: np.mean([r[k] for r in rows], axis=0) for k in rows[0]}
        styles[emotion] = EmotionStyle(
            float(mean["level_st"]), float(mean["range_log"]), float(mean["tempo_log"]),
            float(mean["dynamics_log"]), float(mean["loudness_db"]),
            tuple(round(float(v), 4) for v in mean["mel"]), len(rows))
    return styles


def styles_markdown(styles: dict[str, EmotionStyle]) -> str:
    """The styles as a report table (ratios as factors; tilt: low minus high bands' change)."""
    rows = "\n".join(
        f"| {e} | {s.pairs} | {s.level_st:+.2f} | {np.exp(s.range_log):.2f} | {np.exp(s.tempo_log):.2f} | "
        f"{np.exp(s.dynamics_log):.2f} | {s.loudness_db:+.2f} | "
        f"{np.mean(s.mel[:20]) - np.mean(s.mel[40:]):+.2f} |" for e, s in styles.items())
    return ("# Emotion styles: change from the same speaker's neutral reading\n\n| emotion | pairs | "
            "pitch level (st) | pitch range × | duration × | dynamics × | loudness (dB) | "
            f"tilt (dB) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n{rows}\n")
