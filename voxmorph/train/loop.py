"""The one training loop, over Accelerate: the same code on this CPU and on N GPUs or nodes.

One process on a CPU: ``voxmorph train vocoder ...``. Several GPUs or machines: the same command
under Accelerate, e.g. ``accelerate launch --multi_gpu --num_processes 4 -m voxmorph.cli train
vocoder ...`` (Accelerate shards the batches, wraps the modules for data parallelism and keeps
side effects such as logs and checkpoints on the main process).

Each step runs the recipe's phases in order; a phase's weighted loss is back-propagated into that
phase's optimiser only, its gradients are clipped and their norm logged. A phase with ``ema`` set
also keeps a moving average of its modules' weights (checkpointed with the rest), and the
samples and the exported model use the averaged weights. Resuming restores
weights, optimisers, schedulers and every RNG state, and the data of step ``s`` is a fixed
function of ``s``, so a resumed run continues exactly where the killed one stopped.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

from voxmorph.errors import UserError
from voxmorph.train.checkpoint import latest_checkpoint, read_meta, save_checkpoint
from voxmorph.train.logs import RunLogger
from voxmorph.train.recipe import Recipe


@dataclass(frozen=True)
class LoopConfig:
    steps: int = 20_000
    batch_size: int = 8
    log_every: int = 50
    checkpoint_every: int = 500
    sample_every: int = 2000
    seed: int = 0


@dataclass
class TrainResult:
    step: int
    last: dict[str, float]
    cpu_seconds: float
    wall_seconds: float
    checkpoint: Path | None
    """The last checkpoint; the inference model is exported to ``RUN/model``."""


def _optimisers(recipe: Recipe, models: dict[str, torch.nn.Module]):
    opts, scheds = {}, {}
    for ph in recipe.phases:
        params = [p for name in ph.modules for p in models[name].parameters()]
        opts[ph.name] = torch.optim.AdamW(params, ph.lr, betas=ph.betas, weight_decay=ph.weight_decay)
        scheds[ph.name] = torch.optim.lr_scheduler.ExponentialLR(opts[ph.name], gamma=ph.lr_decay)
    return opts, scheds


class _StopRequest:
    """Ctrl-C or SIGTERM asks the loop to stop after the current step (then it checkpoints and
    exports); a second Ctrl-C interrupts at once."""

    def __init__(self):
        self.requested = False
        self._old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _averages_of(recipe: Recipe, models: dict[str, torch.nn.Module], accelerator) -> dict[str, AveragedModel]:
    """Moving averages of the modules of every phase that asks for one, by module name."""
    return {
        name: AveragedModel(accelerator.unwrap_model(models[name]), multi_avg_fn=get_ema_multi_avg_fn(ph.ema),
                            use_buffers=True)
        for ph in recipe.phases if ph.ema for name in ph.modules
    }


def _run_phase(recipe: Recipe, ph, models, opt, sched, batch, carry: dict, step: int, accelerator,
               sums: dict[str, float], ema: dict[str, AveragedModel]) -> None:
    """One phase of one step: weighted loss, backward into this phase's optimiser, clip, update
    the phase's moving averages, log sums."""
    out = recipe.step(ph.name, models, batch, carry, step)
    loss = out.total()
    if not torch.isfinite(loss):
        raise RuntimeError(f"step {step}: {ph.name} loss is {float(loss)}; lower the learning rate")
    opt.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    params = [p for name in ph.modules for p in models[name].parameters()]
    norm = accelerator.clip_grad_norm_(params, ph.clip)
    opt.step()
    sched.step()
    for name in ph.modules:
        if name in ema:
            ema[name].update_parameters(accelerator.unwrap_model(models[name]))
    sums[f"{ph.name}/loss"] += float(loss.detach())
    sums[f"{ph.name}/grad_norm"] += float(norm)
    for k, v in out.losses.items():
        sums[f"{ph.name}/{k}"] += float(v.detach())
    for k, v in out.metrics.items():
        sums[f"{ph.name}/{k}"] += float(v)


def _checkpoint_to_resume(run_dir: Path, resume: bool, kind: str) -> Path | None:
    found = latest_checkpoint(run_dir)
    if resume and found is None:
        raise UserError(f"{run_dir}: no checkpoint to resume from")
    if not resume and found is not None:
        raise UserError(f"{run_dir}: already holds a run; pass --resume to continue it or pick a new folder")
    if found is not None and read_meta(found)["kind"] != kind:
        raise UserError(f"{found}: a {read_meta(found)['kind']} checkpoint, not {kind}")
    return found


def _prepare(accelerator: Accelerator, recipe: Recipe, config: LoopConfig, found: Path | None):
    """Modules, optimisers, schedulers, moving averages and data through Accelerate, restored
    from ``found``; also ``(step, cpu_seconds, wall_seconds)`` reached so far."""
    models = recipe.build()
    opts, scheds = _optimisers(recipe, models)
    names = list(models)
    prepared = accelerator.prepare(*models.values(), *opts.values(), *scheds.values())
    models = dict(zip(names, prepared[: len(names)], strict=True))
    opts = dict(zip(opts, prepared[len(names) : len(names) + len(opts)], strict=True))
    scheds = dict(zip(scheds, prepared[len(names) + len(opts) :], strict=True))
    ema = _averages_of(recipe, models, accelerator)
    for average in ema.values():
        accelerator.register_for_checkpointing(average)
    reached = (0, 0.0, 0.0)
    if found is not None:
        accelerator.load_state(str(found))
        for ph in recipe.phases:  # a resumed run decays at its recipe's rate from here on
            getattr(scheds[ph.name], "scheduler", scheds[ph.name]).gamma = ph.lr_decay
        meta = read_meta(found)
        reached = (meta["step"], meta.get("cpu_seconds", 0.0), meta.get("wall_seconds", 0.0))
    total = config.steps * config.batch_size * accelerator.num_processes
    data = Subset(recipe.dataset(), range(min(total, len(recipe.dataset()))))
    # its own generator: creating an iterator draws a seed, which must not shift the global RNG
    loader = DataLoader(data, batch_size=config.batch_size, shuffle=False, drop_last=True,
                        collate_fn=getattr(recipe, "collate", None),
                        generator=torch.Generator().manual_seed(config.seed))
    loader = accelerator.prepare(loader)
    if reached[0]:
        loader = accelerator.skip_first_batches(loader, reached[0])
    return models, opts, scheds, ema, loader, reached


def _averages(sums: dict[str, float], scheds: dict, cpu_seconds: float) -> dict[str, float]:
    """Mean of each summed value since the last log, learning rates and CPU-hours; resets ``sums``."""
    n = sums.pop("_n")
    out = {k: v / n for k, v in sums.items()}
    out.update({f"lr/{k}": s.get_last_lr()[0] for k, s in scheds.items()})
    out["cpu_hours"] = cpu_seconds / 3600
    sums.clear()
    return out


def train(
    recipe: Recipe, run_dir: str | Path, config: LoopConfig = LoopConfig(), resume: bool = False,
    progress: bool = True, extra_meta: dict | None = None,
) -> TrainResult:
    """Train ``recipe`` for ``config.steps`` steps in total, checkpointing into ``run_dir``."""
    run_dir = Path(run_dir)
    found = _checkpoint_to_resume(run_dir, resume, recipe.kind)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    set_seed(config.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    models, opts, scheds, ema, loader, (step, cpu0, wall0) = _prepare(accelerator, recipe, config, found)

    def inference_models() -> dict[str, torch.nn.Module]:
        return {k: ema[k].module if k in ema else accelerator.unwrap_model(m) for k, m in models.items()}

    log = RunLogger(run_dir, enabled=accelerator.is_main_process, start_step=step)
    meta = {"kind": recipe.kind, "recipe": recipe.config_dict(), "loop": asdict(config), **(extra_meta or {})}
    t_cpu, t_wall = time.process_time(), time.time()

    def usage() -> tuple[float, float]:
        return cpu0 + time.process_time() - t_cpu, wall0 + time.time() - t_wall

    def checkpoint() -> Path | None:
        accelerator.wait_for_everyone()
        if not accelerator.is_main_process:
            return None
        cpu, wall = usage()
        return save_checkpoint(accelerator, run_dir, step, {**meta, "cpu_seconds": cpu, "wall_seconds": wall})

    sums: dict[str, float] = defaultdict(float)
    last: dict[str, float] = {}
    saved = None
    bar = tqdm(total=config.steps, initial=step, desc=recipe.kind, unit="step",
               disable=not (progress and accelerator.is_main_process), dynamic_ncols=True)
    for model in models.values():
        model.train()
    stop = _StopRequest()
    for batch in loader:
        if step >= config.steps or stop.requested:
            break
        carry: dict = {}
        for ph in recipe.phases:
            if step >= ph.start:
                _run_phase(recipe, ph, models, opts[ph.name], scheds[ph.name], batch, carry, step,
                           accelerator, sums, ema)
        sums["_n"] += 1
        step += 1
        bar.update()
        if step % config.log_every == 0 or step == config.steps:
            last = _averages(sums, scheds, usage()[0])
            log.scalars(step, last)
            bar.set_postfix({k.split("/")[0]: f"{v:.3g}" for k, v in last.items() if k.endswith("/loss")})
        if step % config.sample_every == 0 and accelerator.is_main_process:
            log.samples(step, recipe.samples(inference_models()))
        if step % config.checkpoint_every == 0 or step == config.steps:
            saved = checkpoint()
    bar.close()
    log.close()
    stop.restore()
    if stop.requested:
        print(f"stopped at step {step}: checkpoint and model saved; continue with --resume", file=sys.stderr)
    if saved is None or read_meta(saved)["step"] != step:
        saved = checkpoint()
    cpu, wall = usage()
    if accelerator.is_main_process:
        card = {**(extra_meta or {}), "steps": step, "cpu_hours": round(cpu / 3600, 3),
                "wall_hours": round(wall / 3600, 3), "processes": accelerator.num_processes,
                "batch_size": config.batch_size}
        recipe.export(inference_models(), run_dir / "model", card)
    return TrainResult(step, last, cpu, wall, saved)

