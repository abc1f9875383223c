"""Feature cache: decode, resample and track F0 once per file, then train from memory-mapped arrays.

Each utterance becomes one ``.npz`` named after a hash of its path, size, modification time and
:data:`CACHE_VERSION`, holding ``audio`` (int16 at :data:`SAMPLE_RATE`) and ``f0`` (Hz at
:data:`FRAME_RATE`, 0 = unvoiced, Harvest). Mel spectrograms are not cached: they are cheap to
compute from audio on the fly and then always match the code that computes them at inference.
The folder is ``$VOXMORPH_HOME/cache`` or platformdirs' user cache dir.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voxmorph.audio.constants import FRAME_RATE, HOP, SAMPLE_RATE
from voxmorph.audio.f0 import get_tracker
from voxmorph.audio.io import atomic_path, load_audio
from voxmorph.data.corpora import Utterance, path_tail
from voxmorph.paths import user_cache_dir

CACHE_VERSION = 1
F0_TRACKER = "harvest"
"""F0 tracker of the cached features (the vocoder is trained on it, so it is fixed here)."""
F0_PACK = "f0.npz"
"""A run folder's F0 of every utterance it trains on, in one file of a few MB (see
:meth:`FeatureCache.export_f0`)."""


def default_cache_dir() -> Path:
    return user_cache_dir() / "features"


@dataclass(frozen=True)
class Features:
    """Cached features of one utterance: ``audio (n,)`` int16 and ``f0 (n // HOP + 1,)``."""

    audio: np.ndarray
    f0: np.ndarray

    @property
    def frames(self) -> int:
        return len(self.f0)


def compute_features(path: Path, f0_tracker: str | None = F0_TRACKER) -> Features:
    """Audio and F0 of one file; without a tracker the F0 is all zeros (for models that need none)."""
    x = load_audio(path, SAMPLE_RATE)
    if f0_tracker is None:
        f0 = np.zeros(len(x) // HOP + 1)
    else:
        f0 = get_tracker(f0_tracker)(x, SAMPLE_RATE, 1000.0 / FRAME_RATE)[: len(x) // HOP + 1]
    pcm = np.round(np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
    return Features(pcm, f0.astype(np.float32))


class FeatureCache:
    """``cache[utterance] -> Features``, computing and storing each file once."""

    def __init__(self, folder: str | Path | None = None, f0_tracker: str | None = F0_TRACKER):
        self.folder = Path(folder) if folder else default_cache_dir()
        self.f0_tracker = f0_tracker

    def path_for(self, utt: Utterance) -> Path:
        p = Path(utt.path).resolve()
        st = p.stat()
        key = f"{p}|{st.st_size}|{st.st_mtime_ns}|{CACHE_VERSION}|{self.f0_tracker}"
        return self.folder / f"{hashlib.sha1(key.encode()).hexdigest()}.npz"

    def __getitem__(self, utt: Utterance) -> Features:
        path = self.path_for(utt)
        if not path.exists():
            self._store(path, compute_features(Path(utt.path), self.f0_tracker))
        with np.load(path) as z:
            return Features(z["audio"], z["f0"])

    def _store(self, path: Path, feats: Features) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, audio=feats.audio, f0=feats.f0)

    def export_f0(self, utts: Sequence[Utterance], pack: Path) -> None:
        """Write the cached F0 of ``utts`` (all computed) into ``pack``. Tracking F0 is nearly all
        the cost of the cache (Harvest: about half an hour of both cores for the 2.3 h of speech
        behind the shipped models); with
        the pack a new machine only decodes the audio (:meth:`import_f0`)."""
        f0 = [self[u].f0 for u in utts]
        with atomic_path(pack) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh, tracker=np.array(self.f0_tracker), paths=np.array([str(u.path) for u in utts]),
                sizes=np.array([Path(u.path).stat().st_size for u in utts]),
                offsets=np.cumsum([0] + [len(x) for x in f0]), f0=np.concatenate(f0))

    def import_f0(self, utts: Sequence[Utterance], pack: Path, progress: bool = True) -> int:
        """Fill missing entries of ``utts`` whose file ``pack`` holds F0 for, from the decoded
        audio and the packed F0; returns how many it filled. A file is matched by the last parts
        of its path (corpus/speaker/name) and its size, so a pack written with relative paths, or
        on a machine that keeps the corpora elsewhere, still applies."""
        with np.load(pack) as z:
            if str(z["tracker"]) != self.f0_tracker:
                return 0
            keys = zip((path_tail(p, 3) for p in z["paths"]), map(int, z["sizes"]), strict=True)
            index = {key: i for i, key in enumerate(keys)}
            offsets, f0 = z["offsets"], z["f0"]
        todo = []
        for u in utts:
            i = index.get((path_tail(u.path, 3), Path(u.path).stat().st_size))
            if i is not None and not self.path_for(u).exists():
                todo.append((u, f0[offsets[i] : offsets[i + 1]]))
        for u, track in tqdm(todo, desc="features from the F0 pack", unit="file", disable=not progress):
            audio = compute_features(Path(u.path), None).audio
            if len(track) == len(audio) // HOP + 1:  # else the file changed: prepare() tracks it anew
                self._store(self.path_for(u), Features(audio, track))
        return len(todo)

    def prepare(self, utts: Sequence[Utterance], workers: int | None = None, progress: bool = True) -> None:
        """Compute every missing entry, in ``workers`` processes, with a progress bar."""
        missing = [u for u in utts if not self.path_for(u).exists()]
        if not missing:
            return
        workers = workers or min(len(missing), os.cpu_count() or 1)
        bar = tqdm(total=len(missing), desc="features", unit="file", disable=not progress)
        if workers <= 1:
            for u in missing:
                self._store(self.path_for(u), compute_features(Path(u.path), self.f0_tracker))
                bar.update()
        else:
            with ProcessPoolExecutor(workers) as pool:
                paths = [Path(u.path) for u in missing]
                computed = pool.map(compute_features, paths, [self.f0_tracker] * len(paths))
                for u, feats in zip(missing, computed, strict=True):
                    self._store(self.path_for(u), feats)
                    bar.update()
        bar.close()
