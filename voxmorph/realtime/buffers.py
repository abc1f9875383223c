"""Lock-light buffers between the audio callback and the worker thread.

:class:`BlockRing` is a fixed ring of numbered blocks: the writer stores block ``k`` in slot
``k % size``; the reader asks for block ``k`` and gets it only if that slot still holds ``k``.
The input side uses it as a FIFO; the output side as the jitter buffer, where a block that was
not ready when the device wanted it is simply never read.
"""

from __future__ import annotations

import threading

import numpy as np


class BlockRing:
    """``size`` slots of ``block`` float32 samples, each tagged with its block number."""

    def __init__(self, size: int, block: int):
        self._data = np.zeros((size, block), np.float32)
        self._tags = np.full(size, -1, np.int64)
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self.size = size

    def put(self, index: int, samples: np.ndarray) -> None:
        slot = index % self.size
        with self._ready:
            self._data[slot] = samples
            self._tags[slot] = index
            self._ready.notify_all()

    def get(self, index: int) -> np.ndarray | None:
        """A copy of block ``index``, or None when it is not (or no longer) stored."""
        slot = index % self.size
        with self._lock:
            if self._tags[slot] != index:
                return None
            return self._data[slot].copy()

    def wait(self, index: int, timeout: float | None = None) -> bool:
        """Block until block ``index`` (or a later one in its slot) has been stored."""
        slot = index % self.size
        with self._ready:
            return self._ready.wait_for(lambda: self._tags[slot] >= index, timeout)
