"""Frame-level phone labels for transcribed speech: a forced alignment of each utterance's phones.

A CTC-trained encoder fires each phone on one or two frames and calls the rest blank, so its
content need not say which phone a frame belongs to between the spikes; a decoder reading it has
to guess. Frame labels let a training loss ask for the phone at every frame. They come from a
Viterbi path through the transcript's phones in order, each on one or more consecutive frames,
with optional silence before, between and after them (label 0, the blank's id):

- a phone's score at frame ``t`` is ``log(P(phone) + P(blank))`` under the recogniser's CTC
  posteriors, plus ``log(1 - q_t)``: its segment must cover its own spike and no other phone's,
  and the blank frames between two spikes may go to either side;
- silence scores ``log P(blank) + log q_t``, where ``q_t`` is the frame's probability of being
  silence from its level below the utterance's loud frames (``floor_db`` below their 95th
  percentile, a logistic of ``width_db``);
- ties between spikes are broken by ``tie_weight`` times the phone's log-probability among the
  phones alone (the blank left out).

The path is computed for a whole batch at once (one step per frame over padded state tensors).
"""

from __future__ import annotations

import math

import torch

SILENCE = 0
"""Frame label of silence (the CTC blank's id: labels share the phone head's symbol ids)."""
IGNORE = -100
"""Frame label past an utterance's end (``cross_entropy``'s default ``ignore_index``)."""
_NEG = -1e30
"""Log-score of an impossible state or move."""


def silence_probability(mel: torch.Tensor, frames: torch.Tensor, floor_db: float = 40.0,
                        width_db: float = 4.0) -> torch.Tensor:
    """``mel (B, N_MELS, T)`` natural-log magnitudes, ``frames (B,)`` -> ``(B, T)`` probability that
    each frame is silence, from its level relative to the utterance's loud frames."""
    level = torch.logsumexp(2.0 * mel, dim=1) * (10.0 / math.log(10.0))  # dB, up to a constant
    q = torch.zeros_like(level)
    for b, n in enumerate(frames.tolist()):
        loud = torch.quantile(level[b, :n], 0.95)
        q[b, :n] = torch.sigmoid((loud - floor_db - level[b, :n]) / width_db)
    return q


def align_phones(phone_logits: torch.Tensor, silence: torch.Tensor, phones: torch.Tensor,
                 counts: torch.Tensor, frames: torch.Tensor, tie_weight: float = 0.1) -> torch.Tensor:
    """Viterbi frame labels ``(B, T)``: symbol ids of ``phones`` (``(B, L)``, ``counts`` of them,
    ids > 0), :data:`SILENCE` where the path rests between them and :data:`IGNORE` past ``frames``.

    ``phone_logits (B, symbols, T)`` are a CTC recogniser's logits (blank first), scored as the
    module describes; ``silence (B, T)`` is :func:`silence_probability`. Every phone gets at least
    one frame, so ``counts`` must not exceed ``frames``."""
    states = align_states(phone_logits, silence, phones, counts, frames, tie_weight)
    labels = torch.full_like(states, IGNORE)
    inside = states >= 0
    is_phone = inside & (states % 2 == 1)
    labels[inside] = SILENCE
    labels[is_phone] = phones.gather(1, ((states - 1) // 2).clamp(min=0))[is_phone]
    return labels


def align_states(phone_logits: torch.Tensor, silence: torch.Tensor, phones: torch.Tensor,
                 counts: torch.Tensor, frames: torch.Tensor, tie_weight: float = 0.1) -> torch.Tensor:
    """The Viterbi path of :func:`align_phones` as state indices ``(B, T)``: ``2 i + 1`` on the
    frames of phone ``i``, ``2 i`` on the silence before it (``2 L`` after the last), ``-1`` past
    ``frames``. Phone durations, pauses included, are counts of these."""
    if bool((counts > frames).any()) or bool((counts < 1).any()):
        raise ValueError("each utterance needs between 1 and its frame count of phones")
    b, _, t_max = phone_logits.shape
    post = phone_logits.float().softmax(1)  # (B, symbols, T)
    logp = torch.log(post[:, 1:] + post[:, :1]) + tie_weight * phone_logits[:, 1:].float().log_softmax(1)
    q = silence.clamp(1e-4, 1.0 - 1e-4)
    # states: silence, phone 1, silence, phone 2, ..., phone L, silence
    s_max = 2 * phones.shape[1] + 1
    label = torch.zeros(b, s_max, dtype=torch.long)
    label[:, 1::2] = phones
    is_phone = torch.zeros(b, s_max, dtype=torch.bool)
    for i, n in enumerate(counts.tolist()):
        is_phone[i, 1 : 2 * n : 2] = True
    last = 2 * counts  # index of the final silence state
    valid = torch.arange(s_max)[None] <= last[:, None]
    # skip a silence: from phone s-2 straight into phone s
    can_skip = is_phone.clone()
    can_skip[:, :2] = False
    neg = torch.tensor(_NEG)
    gather = (label - 1).clamp(min=0)[..., None].expand(b, s_max, t_max)
    phone_score = torch.gather(logp, 1, gather) + torch.log1p(-q)[:, None, :]  # (B, S, T)
    silence_score = (torch.log(q) + torch.log(post[:, 0].clamp(min=1e-30)))[:, None, :]
    emit = torch.where(is_phone[..., None], phone_score, silence_score.expand(b, s_max, t_max))
    emit = torch.where(valid[..., None], emit, neg)

    score = torch.full((b, s_max), _NEG)
    score[:, :2] = emit[:, :2, 0]
    back = torch.zeros(b, t_max, s_max, dtype=torch.int8)  # 0 stay, 1 from s-1, 2 from s-2
    final = torch.zeros(b, s_max)
    ends = frames - 1
    for t in range(1, t_max):
        from1 = torch.cat([score.new_full((b, 1), _NEG), score[:, :-1]], 1)
        from2 = torch.cat([score.new_full((b, 2), _NEG), score[:, :-2]], 1)
        from2 = torch.where(can_skip, from2, neg)
        stacked = torch.stack([score, from1, from2])  # (3, B, S)
        best, arg = stacked.max(0)
        back[:, t] = arg.to(torch.int8)
        score = best + emit[:, :, t]
        done = ends == t
        if bool(done.any()):
            final[done] = score[done]
    final[ends == 0] = score[ends == 0]

    states = torch.full((b, t_max), -1, dtype=torch.long)
    back_np, out = back.numpy(), states.numpy()
    for i in range(b):
        end, top = int(ends[i]), int(last[i])
        s = top if final[i, top] >= final[i, top - 1] else top - 1
        for t in range(end, -1, -1):
            out[i, t] = s
            s -= int(back_np[i, t, s])
    return states
