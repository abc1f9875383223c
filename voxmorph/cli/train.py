"""``voxmorph train``: the vocoder, the content encoder and the decoder, on the one training loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import DataOption, LayoutOption, make_typer, trained_model
from voxmorph.errors import UserError

app = make_typer("Train voxmorph's models on speech corpora (CPU by default; GPUs through accelerate).")

ConfigOption = Annotated[str, typer.Option(help="debug (for tests), small (shipped) or base.")]
ResumeOption = Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")]
LrDecayOption = Annotated[float | None, typer.Option(
    min=0.9, max=1.0, help="Learning-rate decay per step (default 0.999996, nearly constant); with "
    "--resume it replaces the run's own from the next step on, e.g. 0.99885 to anneal the rate "
    "tenfold over 2,000 more steps.")]
StepsOption = Annotated[int | None, typer.Option(help="Total steps to reach (default: the config's).")]
CheckpointOption = Annotated[int, typer.Option(help="Steps between checkpoints.")]
SampleOption = Annotated[int, typer.Option(help="Steps between audio samples and plots.")]
HoldOutOption = Annotated[list[str], typer.Option(
    "--hold-out", help="CORPUS/SPEAKER to leave out of training (repeat for several), e.g. "
    "librispeech/40: a speaker a benchmark uses as an unseen voice. With --resume it drops them "
    "from the run from its next step on.")]


InitOption = Annotated[Path | None, typer.Option(
    help="A trained model folder the new run starts from, e.g. the shipped one under "
    "voxmorph/models/weights/, to fine-tune it with another recipe or data. New runs only.")]


def _start(init: Path | None, resume: bool, what: str, gan: bool = True) -> dict:
    """The overrides of a run started from the trained ``init`` (a GAN recipe's critic then
    trains from step 0, its generator being trained already)."""
    if init is None:
        return {}
    if resume:
        raise UserError("--init shapes a new run; a resumed run keeps its own")
    return {"init": trained_model(init, what), **({"gan_start": 0} if gan else {})}


def _train(kind: str, data, out: Path, config, resume, steps, batch_size, layout, checkpoint_every,
           sample_every, hold_out: list[str], transcripts: Path | None = None, **overrides) -> None:
    from voxmorph.train.runs import run_training

    result = run_training(kind, data, out, config, resume, steps, batch_size, layout, checkpoint_every,
                          sample_every, overrides=overrides, transcripts=transcripts, hold_out=hold_out)
    typer.echo(f"step {result.step}: {result.cpu_seconds / 3600:.2f} CPU-hours; model in {out / 'model'}")


@app.command("vocoder")
def train_vocoder(
    data: DataOption = [],  # noqa: B006
    out: Annotated[Path, typer.Option("--out", help="Run folder: checkpoints, logs, samples, model/.")] = (
        Path("runs/vocoder")
    ),
    config: Annotated[str, typer.Option(
        help="debug (for tests), small (the earlier, faster model), medium (shipped: base generator, "
        "small discriminators, loudness-weighted, averaged) or base.")] = "medium",
    resume: ResumeOption = False,
    steps: StepsOption = None,
    batch_size: Annotated[int, typer.Option(help="Segments per step (per process).")] = 8,
    layout: LayoutOption = None,
    checkpoint_every: CheckpointOption = 500,
    sample_every: SampleOption = 2000,
    hold_out: HoldOutOption = [],  # noqa: B006
    loudness: Annotated[float | None, typer.Option(
        help="Weight each frame's mel error by its power to this exponent (0.3: loudness; 0: every "
        "frame alike). Default: the config's, or a resumed run's own.")] = None,
    decoder_model: Annotated[Path | None, typer.Option(
        help="A trained decoder: voice its rebuild of each utterance instead of the real mel, to "
        "fine-tune a vocoder for the neural converter (with --init from a trained vocoder, or "
        "resuming a copy of a copy-synthesis run).")] = None,
    content_model: Annotated[Path | None, typer.Option(
        help="With --decoder-model: the content encoder that decoder was trained on (default: the "
        "shipped one).")] = None,
    init: InitOption = None,
):
    """Train the neural vocoder (mel + F0 -> waveform) by copy synthesis of the given corpora.

    Features are computed once into a cache; progress, losses and ETA show on a bar; TensorBoard
    logs go to OUT/logs. Kill it at any time and continue with --resume. The trained model lands
    in OUT/model (use it with 'voxmorph vocode --model OUT/model').
    """
    from voxmorph.paths import shipped_model

    if loudness is not None and loudness < 0:
        raise UserError(f"--loudness {loudness}: give 0 or more")
    given = {"loudness": loudness} if loudness is not None else {}
    given.update(_start(init, resume, "vocoder"))
    if decoder_model is not None:
        content_model = content_model or shipped_model("content")
        given.update(decoder_model=trained_model(decoder_model, "decoder"),
                     content_model=trained_model(content_model, "content encoder"))
    elif content_model is not None:
        raise UserError("--content-model goes with --decoder-model")
    _train("vocoder", data, out, config, resume, steps, batch_size, layout, checkpoint_every, sample_every,
           hold_out, **given)


@app.command("content")
def train_content(
    data: DataOption = [],  # noqa: B006
    out: Annotated[Path, typer.Option("--out", help="Run folder: checkpoints, logs, model/.")] = (
        Path("runs/content")
    ),
    config: ConfigOption = "small",
    resume: ResumeOption = False,
    steps: StepsOption = None,
    batch_size: Annotated[int, typer.Option(help="Utterances per step (per process).")] = 8,
    layout: LayoutOption = None,
    checkpoint_every: CheckpointOption = 500,
    sample_every: SampleOption = 2000,
    hold_out: HoldOutOption = [],  # noqa: B006
    transcripts: Annotated[Path | None, typer.Option(
        help="A file from 'voxmorph data transcribe': texts for utterances that have none (with "
        "--resume, they join the run from its next step on).")] = None,
    lr_decay: LrDecayOption = None,
    adversary: Annotated[str | None, typer.Option(
        help="How the encoder opposes the speaker classifier: reversal (maximise its loss; the "
        "default) or confusion (push it toward a uniform guess; bounded). With --resume it "
        "replaces the run's own.")] = None,
    frame_phones: Annotated[float | None, typer.Option(
        min=0.0, help="Weight of a frame-level phone loss next to the CTC (0: off, the default): a "
        "linear head on the content must name every frame's phone, labelled by a forced alignment "
        "of the transcript. New runs only.")] = None,
    init: InitOption = None,
):
    """Train the content encoder: phone CTC on the transcribed corpora among --data, and an
    adversarial speaker classifier on all of them, with speed and vocal-tract perturbation.

    Transcribed synthetic speech comes from 'voxmorph data synth'; real corpora without text can
    be transcribed with 'voxmorph data transcribe'. The bar shows the CTC loss; the logs also show
    the phone error rate and the speaker classifier's accuracy (it should fall toward chance). The
    encoder lands in OUT/model.
    """
    if adversary not in (None, "reversal", "confusion"):
        raise UserError(f"unknown adversary '{adversary}': use reversal or confusion")
    if resume and frame_phones is not None:
        raise UserError("--frame-phones shapes a new run; a resumed run keeps its own")
    given = {k: v for k, v in (("lr_decay", lr_decay), ("adversary", adversary),
                               ("frame_phones", frame_phones)) if v is not None}
    given.update(_start(init, resume, "content encoder", gan=False))
    _train("content", data, out, config, resume, steps, batch_size, layout, checkpoint_every, sample_every,
           hold_out, transcripts=transcripts, **given)


@app.command("decoder")
def train_decoder(
    data: DataOption = [],  # noqa: B006
    content_model: Annotated[Path | None, typer.Option(
        help="The trained content encoder, frozen while the decoder trains (default: the shipped "
        "one; with --resume, the run's own unless given).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Run folder: checkpoints, logs, model/.")] = (
        Path("runs/decoder")
    ),
    config: ConfigOption = "small",
    resume: ResumeOption = False,
    steps: StepsOption = None,
    batch_size: Annotated[int, typer.Option(help="Segments per step (per process).")] = 8,
    layout: LayoutOption = None,
    checkpoint_every: CheckpointOption = 500,
    sample_every: SampleOption = 2000,
    hold_out: HoldOutOption = [],  # noqa: B006
    lr_decay: LrDecayOption = None,
    consistency: Annotated[float | None, typer.Option(
        min=0.0, help="Weight of the phone-consistency loss: the frozen content encoder must hear "
        "the source's phones in the decoder's rebuild and in its conversion to another speaker of "
        "the batch (0: off, the default). With --resume it replaces the run's own.")] = None,
    lookahead: Annotated[int | None, typer.Option(
        min=0, max=20, help="Frames (10 ms) of conditioning the decoder reads past each mel frame "
        "(default 0: causal). Adds as much delay to live conversion. New runs only.")] = None,
    init: InitOption = None,
):
    """Train the VAE decoder (content + F0 + energy + speaker embedding -> mel) on real multi-speaker
    speech, GAN-refined against a mel discriminator. The decoder lands in OUT/model."""
    from voxmorph.paths import shipped_model

    if content_model is None and not resume:
        content_model = shipped_model("content")
    given = {}
    if content_model is not None:
        given["content_model"] = trained_model(content_model, "content encoder")
    if lookahead is not None and resume:
        raise UserError("--lookahead shapes a new run's decoder; a resumed run keeps its own")
    given.update({k: v for k, v in (("lr_decay", lr_decay), ("consistency", consistency),
                                    ("lookahead", lookahead)) if v is not None})
    given.update(_start(init, resume, "decoder"))
    _train("decoder", data, out, config, resume, steps, batch_size, layout, checkpoint_every, sample_every,
           hold_out, **given)
