"""Word transcripts from pocketsphinx's bundled US-English model, for intelligibility (CER)."""

from __future__ import annotations

import threading

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE


class Transcriber:
    """16 kHz float audio -> lower-case word transcript. The decoder loads on first use."""

    def __init__(self):
        self._decoder = None
        self._lock = threading.Lock()

    def __call__(self, x: np.ndarray) -> str:
        pcm = (np.clip(x, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        with self._lock:
            if self._decoder is None:
                from pocketsphinx import Decoder

                self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
            d = self._decoder
            d.start_utt()
            d.process_raw(pcm, full_utt=True)
            d.end_utt()
            hyp = d.hyp()
        return hyp.hypstr.lower() if hyp is not None else ""
