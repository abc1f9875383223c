"""Audio constants, named once and derived from each other.

Every model and feature in voxmorph works at :data:`SAMPLE_RATE` with a frame every
:data:`HOP` samples; nothing else in the code base spells these numbers out.
"""

SAMPLE_RATE = 16_000
"""Model rate in Hz: speech content lives below 8 kHz, and it keeps CPU cost low."""

FRAME_RATE = 100
"""Feature frames per second (10 ms hop), shared by mel, energy and F0 features."""

HOP = SAMPLE_RATE // FRAME_RATE
"""Samples between consecutive feature frames (160)."""

WIN_MS = 25
WIN_LENGTH = SAMPLE_RATE * WIN_MS // 1000
"""Analysis window: 25 ms (400 samples), the usual speech window."""

N_FFT = 1 << (WIN_LENGTH - 1).bit_length()
"""FFT size: the next power of two above the window (512)."""

N_MELS = 80
"""Mel bands of the log-mel spectrogram."""

F_MIN = 0.0
F_MAX = SAMPLE_RATE / 2
"""Mel filterbank range: the full band of the model rate."""

WORLD_FRAME_PERIOD_MS = 1000.0 / FRAME_RATE / 2
"""WORLD analysis period (5 ms): WORLD resynthesis sounds rougher at 10 ms."""

WORLD_FRAME_RATE = round(1000.0 / WORLD_FRAME_PERIOD_MS)
"""WORLD frames per second (200)."""

F0_FLOOR = 50.0
F0_CEIL = 600.0
"""Search range of every F0 tracker in Hz: covers low male to high child voices."""

MIN_DURATION_S = 0.3
"""Shortest input accepted for conversion: shorter clips hold too little speech to analyse."""
