"""Audio front-end: decoding, resampling, loudness, voice activity, features and WORLD."""
