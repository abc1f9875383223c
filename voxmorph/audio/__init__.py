"""Audio front-end: decoding, resampling, loudness, voice activity, features and WORLD."""

import warnings

# pyworld imports the deprecated pkg_resources at import time; the warning is not ours to fix
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
