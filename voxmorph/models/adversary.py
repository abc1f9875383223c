"""A speaker classifier as adversary: what makes content features speaker-free.

The classifier learns to name the training speaker from content frames, and the encoder learns
features it cannot attribute, in one of two ways:

- **reversal** (Ganin & Lempitsky 2015): the reversal layer passes the classifier's gradient back
  to the encoder negated (times ``scale``), so the encoder *maximises* the classifier's loss.
  That objective has no ceiling: an encoder can keep driving the loss up on speakers the
  classifier is bad at instead of hiding speakers from it.
- **confusion** (Tzeng et al. 2015): the classifier learns on the content with its gradient
  stopped; the encoder minimises :func:`confusion_loss`, the classifier's (frozen) divergence
  from the uniform guess, which is bounded below by 0, reached when the classifier cannot tell.

Its accuracy is logged: it should fall toward chance, ``1 / speakers``, as training goes on.
Training machinery only: the inference pipeline never loads it.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; backward multiplies the gradient by ``-scale``."""
    return _Reverse.apply(x, scale)


class SpeakerClassifier(nn.Module):
    """``(content (B, dim, T), mask (B, T)) -> (B, speakers)`` logits: a per-frame MLP averaged over
    each utterance's valid frames. Frame-wise, so every frame of the content is pushed to be
    speaker-free, not just its average."""

    def __init__(self, dim: int, speakers: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(dim, hidden, 1), nn.GELU(), nn.Conv1d(hidden, hidden, 1), nn.GELU(),
            nn.Conv1d(hidden, speakers, 1),
        )

    def forward(self, content: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = self.net(content)
        m = mask[:, None].to(logits.dtype)
        return (logits * m).sum(-1) / m.sum(-1).clamp(min=1.0)


def confusion_loss(classifier: SpeakerClassifier, content: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """KL(uniform || classifier's speaker posterior) per utterance, batch mean: 0 when the
    classifier cannot tell the speakers apart. Gradient reaches ``content`` only; the classifier's
    parameters are read as constants."""
    frozen = {k: v.detach() for k, v in classifier.named_parameters()}
    logits = torch.func.functional_call(classifier, frozen, (content, mask))
    return -logits.log_softmax(-1).mean(-1).mean() - math.log(logits.shape[-1])
