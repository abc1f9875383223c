"""What an utterance's delivery sounds like, as one vector: pitch range and movement, voicing,
loudness dynamics, pace, and spectral shape (tilt, brightness), with the recording's overall level
and the speaker's pitch level left out (a high voice is not an excited one; the judge must hear a
conversion's emotion, not its target's pitch). Language-independent on purpose: no phones, no
words.

``utterance_features(x) -> (N_FEATURES,) float32`` for 16 kHz audio.
"""

from __future__ import annotations

import numpy as np

from voxmorph.audio.constants import FRAME_RATE, SAMPLE_RATE
from voxmorph.audio.dsp import normalise_loudness
from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.audio.features import energy_db, log_mel

SPEECH_RANGE_DB = 35.0
"""Frames within this many dB of the loudest are speech."""
PEAK_RANGE_DB = 25.0
"""Energy peaks within this many dB of the loudest count as syllables."""
BANDS = 20
"""Mel bands averaged into this many for the spectral shape."""
N_PROSODY = 12
N_FEATURES = N_PROSODY + 2 * BANDS


def _pct(a: np.ndarray, q: float) -> float:
    return float(np.percentile(a, q)) if a.size else 0.0


def utterance_features(x: np.ndarray) -> np.ndarray:
    """The delivery vector of ``x`` (16 kHz mono, at least a few frames of sound)."""
    x = normalise_loudness(np.asarray(x, np.float32), SAMPLE_RATE)
    f0 = mel_frame_f0(get_tracker("dio"), x)
    mel = log_mel(x).numpy()
    e = energy_db(x).numpy()
    t = min(f0.size, mel.shape[1], e.size)
    f0, mel, e = f0[:t], mel[:, :t], e[:t]
    speech = e > e.max() - SPEECH_RANGE_DB
    voiced = f0 > 0
    st = 12.0 * np.log2(f0[voiced] / 100.0) if voiced.sum() > 2 else np.zeros(3)  # semitones re 100 Hz
    step = np.abs(np.diff(st)) if st.size > 3 else np.zeros(2)
    loud = e[speech]
    smooth = np.convolve(e, np.ones(5) / 5, "same")
    peaks = int(((smooth[1:-1] > smooth[:-2]) & (smooth[1:-1] >= smooth[2:])
                 & (smooth[1:-1] > e.max() - PEAK_RANGE_DB)).sum())
    seconds = speech.sum() / FRAME_RATE
    bands = mel[:, speech].reshape(BANDS, mel.shape[0] // BANDS, -1).mean(1)
    shape = bands.mean(1) - bands.mean()
    vs = voiced & speech
    v_mel = mel[:, vs].mean(1) if vs.sum() > 2 else mel.mean(1)
    tilt = v_mel[: mel.shape[0] // 4].mean() - v_mel[mel.shape[0] // 2 :].mean()
    prosody = [
        st.std(), _pct(st, 90) - _pct(st, 10),
        step.mean(), _pct(step, 90), voiced.mean(), voiced[speech].mean(),
        loud.std(), _pct(loud, 90) - _pct(loud, 10), np.abs(np.diff(e)).mean(),
        peaks / max(seconds, 0.1), speech.mean(), tilt,
    ]
    return np.concatenate([np.asarray(prosody), shape, bands.std(1)]).astype(np.float32)
