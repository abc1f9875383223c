"""What a model brings to the one training loop: a :class:`Recipe`.

The loop owns devices, optimisers, checkpoints, logging and progress; a recipe owns the model:
which modules to build, which data to draw, and what one step computes. A step runs as phases
(for a GAN: ``disc`` then ``gen``); each phase returns named losses, their weights and metrics,
and the loop back-propagates the weighted sum into that phase's optimiser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from voxmorph.errors import UserError


@dataclass(frozen=True)
class Phase:
    """One optimiser and the modules it updates; it runs from step ``start`` on."""

    name: str
    modules: tuple[str, ...]
    lr: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.0
    lr_decay: float = 0.999996
    """Multiplicative learning-rate decay per step (0.999996 halves it in about 170k steps)."""
    clip: float = 10.0
    """Gradient-norm clip."""
    start: int = 0
    ema: float = 0.0
    """Decay of an exponential moving average of this phase's module weights, updated after
    every optimiser step and what gets exported and sampled (0 = none)."""


@dataclass
class StepOutput:
    """What one phase of a step computed: ``loss = sum(weights[k] * losses[k])``."""

    losses: dict[str, torch.Tensor]
    weights: dict[str, float]
    metrics: dict[str, float] = field(default_factory=dict)

    def total(self) -> torch.Tensor:
        return sum(self.weights[k] * v for k, v in self.losses.items() if self.weights.get(k, 0.0))


@dataclass(frozen=True)
class Sample:
    """An audio example for the logs (written as WAV and as a spectrogram plot)."""

    name: str
    audio: np.ndarray


class Recipe(Protocol):
    kind: str
    phases: tuple[Phase, ...]

    def config_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild the recipe (saved in every checkpoint)."""
        ...

    def build(self) -> dict[str, nn.Module]:
        """Fresh modules by name."""
        ...

    def dataset(self) -> torch.utils.data.Dataset:
        """Map-style training data; item ``i`` is a fixed function of ``i`` (exact resume). A recipe
        whose items vary in size also has a ``collate(items) -> batch`` attribute."""
        ...

    def step(
        self, phase: str, models: Mapping[str, nn.Module], batch: Any, carry: dict, step: int
    ) -> StepOutput:
        """Compute one phase; ``carry`` passes tensors between the phases of the same step."""
        ...

    def samples(self, models: Mapping[str, nn.Module]) -> list[Sample]:
        """A few outputs on held-out inputs, for listening and plots."""
        ...

    def export(self, models: Mapping[str, nn.Module], folder: Path, card: dict) -> None:
        """Write the inference model (no training machinery) with its model card."""
        ...


def start_from(model: nn.Module, folder: str | Path, load: Callable[[str | Path], tuple[nn.Module, dict]],
               what: str) -> dict:
    """Copy the weights of the trained model in ``folder`` (read by ``load``) into the new run's
    ``model``, which must have the same configuration; returns the lineage its card records
    (``steps``, ``cpu_hours``, ``held_out`` of the model it started from)."""
    start, meta = load(folder)
    if start.config != model.config:
        raise UserError(f"{folder}: a {what} of another configuration than this run's "
                        f"({start.config} against {model.config}); choose the run's --config to match")
    model.load_state_dict(start.state_dict())
    card = meta.get("card", {})
    return {k: card[k] for k in ("steps", "cpu_hours", "held_out") if k in card}

