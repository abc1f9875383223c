"""Forced alignment of transcript phones to frames (the content recipe's frame-level labels)."""

from __future__ import annotations

import pytest
import torch

from voxmorph.audio.features import SILENCE_LOG_MEL
from voxmorph.text.phonemes import SYMBOLS
from voxmorph.train.alignment import IGNORE, SILENCE, align_phones, silence_probability

N = len(SYMBOLS)


def spiky_logits(frames: int, spikes: dict[int, int]) -> torch.Tensor:
    """CTC-like logits ``(1, N, frames)``: blank everywhere but one frame per phone."""
    logits = torch.zeros(1, N, frames)
    logits[0, 0] = 6.0
    for t, symbol in spikes.items():
        logits[0, symbol, t] = 12.0
    return logits


def align_one(logits: torch.Tensor, quiet: torch.Tensor, phones: list[int]) -> torch.Tensor:
    counts, frames = torch.tensor([len(phones)]), torch.tensor([logits.shape[-1]])
    return align_phones(logits, quiet, torch.tensor([phones]), counts, frames)[0]


def runs(labels: torch.Tensor) -> list[tuple[int, int]]:
    """Run-length form of one label row: ``[(label, frames), ...]``."""
    out: list[list[int]] = []
    for label in labels.tolist():
        if out and out[-1][0] == label:
            out[-1][1] += 1
        else:
            out.append([label, 1])
    return [tuple(r) for r in out]


def test_each_phone_covers_its_own_spike_and_silence_follows_the_level():
    frames, (a, b, c) = 30, (5, 9, 5)  # a phone repeated: two segments, not one
    logits = spiky_logits(frames, {6: a, 14: b, 21: c})
    quiet = torch.zeros(1, frames)
    quiet[0, :4] = quiet[0, 26:] = 1.0
    labels = align_one(logits, quiet, [a, b, c])
    assert labels[:4].eq(SILENCE).all() and labels[26:].eq(SILENCE).all()
    assert labels[6] == a and labels[14] == b and labels[21] == c
    # in order, each phone once, contiguous: silence, a, b, c, silence
    assert [label for label, _ in runs(labels)] == [SILENCE, a, b, c, SILENCE]


def test_a_batch_aligns_as_its_items_do_alone_and_padding_is_ignored():
    long_logits = spiky_logits(24, {3: 7, 10: 2, 17: 11})
    short_logits = spiky_logits(12, {2: 4, 8: 4})
    quiet_long, quiet_short = torch.zeros(1, 24), torch.zeros(1, 12)
    quiet_long[0, 20:] = 1.0
    alone = [align_one(long_logits, quiet_long, [7, 2, 11]), align_one(short_logits, quiet_short, [4, 4])]
    logits = torch.cat([long_logits, torch.nn.functional.pad(short_logits, (0, 12))])
    quiet = torch.cat([quiet_long, torch.nn.functional.pad(quiet_short, (0, 12))])
    phones = torch.tensor([[7, 2, 11], [4, 4, 0]])
    batch = align_phones(logits, quiet, phones, torch.tensor([3, 2]), torch.tensor([24, 12]))
    assert torch.equal(batch[0], alone[0])
    assert torch.equal(batch[1, :12], alone[1]) and batch[1, 12:].eq(IGNORE).all()
    assert alone[1].eq(4).all()  # two phones alike, no pause between them


def test_more_phones_than_frames_is_refused():
    with pytest.raises(ValueError):
        align_phones(torch.zeros(1, N, 2), torch.zeros(1, 2), torch.tensor([[1, 2, 3]]), torch.tensor([3]),
                     torch.tensor([2]))


def test_silence_probability_is_high_only_well_below_the_loud_frames():
    mel = torch.full((1, 80, 20), -2.0)
    mel[0, :, :5] = SILENCE_LOG_MEL  # digital silence
    mel[0, :, 5:8] = -2.0 - 15.0 / 20.0 * 2.302585  # 15 dB below: quiet speech, not silence
    q = silence_probability(mel, torch.tensor([20]))[0]
    assert (q[:5] > 0.99).all() and (q[5:] < 0.05).all()
