"""``voxmorph train``: the vocoder, the content encoder, the decoder, the synthesiser's
text-to-frames model and the emotional prosody model, on the one training loop; the emotion judge,
styles and pitch baseline, which are measured rather than trained.

The options every run takes (corpora, run folder, config, resume, steps, batch, checkpoints,
samples, held-out speakers) are written once, in :func:`run_options`; each command adds its own.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import DataOption, LayoutOption, make_typer, trained_model
from voxmorph.errors import UserError

app = make_typer("Train voxmorph's models on speech corpora (CPU by default; GPUs through accelerate).")

LrDecayOption = Annotated[float | None, typer.Option(
    min=0.9, max=1.0, help="Learning-rate decay per step (default 0.999996, nearly constant); with "
    "--resume it replaces the run's own from the next step on, e.g. 0.99885 to anneal the rate "
    "tenfold over 2,000 more steps.")]
InitOption = Annotated[Path | None, typer.Option(
    help="A trained model folder the new run starts from, e.g. the shipped one under "
    "voxmorph/models/weights/, to fine-tune it with another recipe or data. New runs only.")]


@dataclass(frozen=True)
class RunArgs:
    """The options every ``train`` command takes (see :func:`voxmorph.train.runs.run_training`)."""

    data: list[Path]
    out: Path
    config: str
    resume: bool
    steps: int | None
    batch_size: int
    layout: str | None
    checkpoint_every: int
    sample_every: int
    hold_out: list[str]


def run_options(out: str, config: str, config_help: str, batch: str):
    """Give a ``train`` command the shared options, first in its --help, gathered into the
    :class:`RunArgs` its first parameter receives."""
    shared = [
        ("data", DataOption, []),
        ("out", Annotated[Path, typer.Option(help="Run folder: checkpoints, logs, samples, model/.")],
         Path(out)),
        ("config", Annotated[str, typer.Option(help=config_help)], config),
        ("resume", Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")], False),
        ("steps", Annotated[int | None, typer.Option(help="Total steps to reach (default: the config's).")],
         None),
        ("batch_size", Annotated[int, typer.Option(help=f"{batch} per step (per process).")], 8),
        ("layout", LayoutOption, None),
        ("checkpoint_every", Annotated[int, typer.Option(help="Steps between checkpoints.")], 500),
        ("sample_every", Annotated[int, typer.Option(help="Steps between audio samples and plots.")], 2000),
        ("hold_out", Annotated[list[str], typer.Option(
            "--hold-out", help="CORPUS/SPEAKER to leave out of training (repeat for several), e.g. "
            "librispeech/40: a speaker a benchmark uses as an unseen voice. With --resume it drops them "
            "from the run from its next step on.")], []),
    ]

    def wrap(command):
        own = list(inspect.signature(command, eval_str=True).parameters.values())[1:]
        keyword = inspect.Parameter.KEYWORD_ONLY
        params = [inspect.Parameter(n, keyword, default=d, annotation=a) for n, a, d in shared]

        @functools.wraps(command)
        def with_run(**kw):
            return command(RunArgs(**{n: kw.pop(n) for n, _, _ in shared}), **kw)

        with_run.__signature__ = inspect.Signature(params + [p.replace(kind=keyword) for p in own])
        return with_run

    return wrap


def _start(init: Path | None, resume: bool, what: str, gan: bool = True) -> dict:
    """The overrides of a run started from the trained ``init`` (a GAN recipe's critic then
    trains from step 0, its generator being trained already)."""
    if init is None:
        return {}
    if resume:
        raise UserError("--init shapes a new run; a resumed run keeps its own")
    return {"init": trained_model(init, what), **({"gan_start": 0} if gan else {})}


def _frozen_content(content_model: Path | None, resume: bool) -> dict:
    """The content encoder a decoder or synthesiser run reads: the given one, the shipped one for
    a new run, or (resumed, none given) the run's own."""
    from voxmorph.paths import shipped_model

    if content_model is None and not resume:
        content_model = shipped_model("content")
    return {} if content_model is None else {"content_model": trained_model(content_model, "content encoder")}


def _train(kind: str, run: RunArgs, transcripts: Path | None = None, **overrides) -> None:
    from voxmorph.train.runs import run_training

    result = run_training(kind, run.data, run.out, size=run.config, resume=run.resume, steps=run.steps,
                          batch_size=run.batch_size, layout=run.layout, checkpoint_every=run.checkpoint_every,
                          sample_every=run.sample_every, overrides=overrides, transcripts=transcripts,
                          hold_out=run.hold_out)
    typer.echo(f"step {result.step}: {result.cpu_seconds / 3600:.2f} CPU-hours; model in {run.out / 'model'}")


@app.command("vocoder")
@run_options("runs/vocoder", "medium", "debug (for tests), small (the earlier, faster model), medium "
             "(shipped: base generator, small discriminators, loudness-weighted, averaged) or base.",
             "Segments")
def train_vocoder(
    run: RunArgs,
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
    given.update(_start(init, run.resume, "vocoder"))
    if decoder_model is not None:
        content_model = content_model or shipped_model("content")
        given.update(decoder_model=trained_model(decoder_model, "decoder"),
                     content_model=trained_model(content_model, "content encoder"))
    elif content_model is not None:
        raise UserError("--content-model goes with --decoder-model")
    _train("vocoder", run, **given)


@app.command("content")
@run_options("runs/content", "small", "debug (for tests), small (shipped) or base.", "Utterances")
def train_content(
    run: RunArgs,
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
    if run.resume and frame_phones is not None:
        raise UserError("--frame-phones shapes a new run; a resumed run keeps its own")
    given = {k: v for k, v in (("lr_decay", lr_decay), ("adversary", adversary),
                               ("frame_phones", frame_phones)) if v is not None}
    given.update(_start(init, run.resume, "content encoder", gan=False))
    _train("content", run, transcripts=transcripts, **given)


@app.command("decoder")
@run_options("runs/decoder", "small", "debug (for tests), small or base (shipped; --init with the shipped "
             "decoder needs it).", "Segments")
def train_decoder(
    run: RunArgs,
    content_model: Annotated[Path | None, typer.Option(
        help="The trained content encoder, frozen while the decoder trains (default: the shipped "
        "one; with --resume, the run's own unless given).")] = None,
    lr: Annotated[float | None, typer.Option(
        min=1e-6, max=1e-2, help="Learning rate (default 5e-4; 2e-4 suits a fine-tune from --init). "
        "New runs only.")] = None,
    lr_decay: LrDecayOption = None,
    consistency: Annotated[float | None, typer.Option(
        min=0.0, help="Weight of the phone-consistency loss: the frozen content encoder must hear "
        "the source's phones in the decoder's rebuild and in its conversion to another speaker of "
        "the batch (0: off, the default). With --resume it replaces the run's own.")] = None,
    shift: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, help="Share of segments whose content is read from the decoder's own "
        "conversion of the segment into another speaker's voice, so that the voice comes from the "
        "speaker embedding and not from the content (0: off, the default). With --resume it "
        "replaces the run's own.")] = None,
    lookahead: Annotated[int | None, typer.Option(
        min=0, max=20, help="Frames (10 ms) of conditioning the decoder reads past each mel frame "
        "(default 0: causal). Adds as much delay to live conversion. New runs only.")] = None,
    init: InitOption = None,
):
    """Train the VAE decoder (content + F0 + energy + speaker embedding -> mel) on real multi-speaker
    speech, GAN-refined against a mel discriminator. The decoder lands in OUT/model."""
    given = _frozen_content(content_model, run.resume)
    if lookahead is not None and run.resume:
        raise UserError("--lookahead shapes a new run's decoder; a resumed run keeps its own")
    if lr is not None and run.resume:
        raise UserError("--lr sets a new run's rate; a resumed run keeps its own (see --lr-decay)")
    given.update({k: v for k, v in (("lr", lr), ("lr_decay", lr_decay), ("consistency", consistency),
                                    ("shift", shift), ("lookahead", lookahead)) if v is not None})
    given.update(_start(init, run.resume, "decoder"))
    _train("decoder", run, **given)


@app.command("tts")
@run_options("runs/tts", "small", "debug (for tests) or small (shipped).", "Utterances")
def train_tts(
    run: RunArgs,
    transcripts: Annotated[Path | None, typer.Option(
        help="A file from 'voxmorph data transcribe': texts for utterances that have none.")] = None,
    content_model: Annotated[Path | None, typer.Option(
        help="The content encoder whose output the synthesiser learns to predict (default: the "
        "shipped one, which the shipped decoder reads).")] = None,
    lr_decay: LrDecayOption = None,
    init: InitOption = None,
):
    """Train the speech synthesiser's text-to-frames model (phones -> durations, content, F0 and
    energy per frame; a VAE with an adversarial critic) on transcribed speech among --data.

    Real recordings teach content and prosody; synthetic speech from 'voxmorph data synth'
    (recognised by the voices.json it writes) teaches content only. Durations come from a forced
    alignment with the content encoder. The bar shows the losses; the logs also show the critic's
    accuracy. The model lands in OUT/model (use it with 'voxmorph speak --tts-model OUT/model').
    """
    given = _frozen_content(content_model, run.resume)
    if lr_decay is not None:
        given["lr_decay"] = lr_decay
    given.update(_start(init, run.resume, "text-to-frames model"))
    _train("tts", run, transcripts=transcripts, **given)


@app.command("emotion-prosody")
@run_options("runs/emotion-prosody", "small", "debug (for tests) or small (shipped).", "Sentence pairs")
def train_emotion_prosody(run: RunArgs):
    """Train the emotional prosody model (neutral pitch and loudness contours -> an emotion's; a
    VAE with an adversarial critic) on parallel acted speech: each emotional take against the same
    speaker's neutral reading of the same sentence (EmoDB), aligned frame by frame. Speakers given
    with --hold-out are measured on at the end (errors, contour correlation, the critic's
    accuracy), in the model card. The model lands in OUT/model."""
    held = tuple(run.hold_out)
    if run.resume and held:
        raise UserError("--hold-out shapes a new run's measurement; a resumed run keeps its own")
    _train("emotion-prosody", replace(run, hold_out=[]), **({"held_out": held} if held else {}))
    if held:
        from voxmorph.emotion.prosody import load_prosody
        from voxmorph.train.emotion_prosody import held_out_markdown

        card = load_prosody(run.out / "model")[1]["card"]
        _finish(run.out, held_out_markdown(card["held_out"]), card)


def _corpus(data: list[Path], layout: str | None, keep) -> list:
    """The utterances of the corpora in ``data`` that ``keep(utterance)`` accepts."""
    from voxmorph.data.corpora import read_corpus

    if not data:
        raise UserError("give at least one corpus with --data")
    return [u for d in data for u in read_corpus(d, layout) if keep(u)]


def _analysed(utts: list, work):
    """``work(utts, progress=...)`` under a progress bar of one tick per recording."""
    from voxmorph.cli.common import progress

    with progress(len(utts), "analysing", unit="files") as bar:
        return work(utts, progress=lambda: bar.update(1))


def _finish(out: Path, md: str, data: dict) -> None:
    """Write the run's report beside model/ and print it."""
    from voxmorph.eval.report import write_report

    write_report(out / "report", data, md)
    typer.echo(md.rstrip())
    typer.echo(f"model in {out / 'model'}")


@app.command("emotion-judge")
def train_emotion_judge(
    data: DataOption,
    out: Annotated[Path, typer.Option(help="Folder for model/ and the held-out report.")] = Path(
        "runs/emotion-judge"),
    layout: LayoutOption = None,
):
    """Fit the emotion judge on acted emotional speech (EmoDB, ESD, CREMA-D: corpora that label
    each recording's emotion) and report its accuracy on speakers held out, one at a time.

    Takes seconds after the features (about 1 s per 10 recordings).
    """
    from voxmorph.emotion.judge import JudgeConfig, save_judge
    from voxmorph.train.emotion_judge import corpus_features, fit, held_out_accuracy, held_out_markdown

    classes = JudgeConfig().classes
    utts = _corpus(data, layout, lambda u: u.emotion in classes)
    if not utts:
        raise UserError(f"no recordings labelled {', '.join(classes)} in {', '.join(map(str, data))}")
    x, y, speakers = _analysed(utts, lambda us, progress: corpus_features(us, classes, progress))
    held = held_out_accuracy(x, y, speakers, classes)
    card = {"held_out": held, "corpora": [str(d) for d in data], "classes": list(classes)}
    save_judge(fit(x, y, classes), out / "model", card)
    _finish(out, held_out_markdown(held, classes), card)


@app.command("emotion-style")
def train_emotion_style(
    data: DataOption,
    out: Annotated[Path, typer.Option(help="Folder for model/ (the styles) and a report.")] = Path(
        "runs/emotion-style"),
    layout: LayoutOption = None,
    hold_out: Annotated[list[str], typer.Option(help="Leave this speaker out (repeat for several), "
                                                "to measure on them.")] = [],  # noqa: B006
):
    """Learn how each emotion changes a voice (pitch level and range, tempo, loudness and its
    dynamics, spectral envelope) from parallel acted speech: each emotional take against the same
    speaker's neutral reading of the same sentence (EmoDB; ESD-like corpora with transcripts)."""
    from voxmorph.emotion.names import EMOTIONS
    from voxmorph.emotion.style import save_styles
    from voxmorph.train.emotion_style import fit_styles, parallel_takes, styles_markdown

    utts = _corpus(data, layout, lambda u: u.emotion in EMOTIONS and u.speaker not in hold_out)
    # only takes with a neutral reading of their sentence are read
    paired = [u for g in parallel_takes(utts, list(EMOTIONS)).values() for t in g.values() for u in t]
    styles = _analysed(paired, lambda us, progress: fit_styles(us, list(EMOTIONS), progress))
    card = {"corpora": [str(d) for d in data], "held_out": list(hold_out),
            "speakers": sorted({u.speaker for u in utts})}
    save_styles(styles, out / "model", card)
    _finish(out, styles_markdown(styles), {**card, "styles": {e: s.__dict__ for e, s in styles.items()}})


@app.command("pitch-baseline")
def train_pitch_baseline(
    data: DataOption,
    out: Annotated[Path, typer.Option(help="Folder for model/ and a held-out report.")] = Path(
        "runs/pitch-baseline"),
    layout: LayoutOption = None,
    hold_out: Annotated[list[str], typer.Option(help="Leave this speaker out (repeat for several).")
                        ] = [],  # noqa: B006
    per_speaker: Annotated[int, typer.Option(min=1, help="Recordings per speaker at most, so that "
                                             "many speakers outweigh a few long ones.")] = 10,
):
    """Fit the map from a speaker's embedding to the pitch level of their neutral read speech (what
    lets conversion keep a take's emotion), on neutral multi-speaker corpora, with its error on
    speakers held out."""
    from collections import Counter

    from voxmorph.train.pitch_baseline import fit, held_out_error, utterance_rows
    from voxmorph.voices.baseline import save_baseline

    seen = Counter()

    def keep(u) -> bool:
        if u.speaker in hold_out or u.emotion not in (None, "neutral") or seen[u.speaker] >= per_speaker:
            return False
        seen[u.speaker] += 1
        return True

    utts = _corpus(data, layout, keep)
    x, y, speakers = _analysed(utts, utterance_rows)
    held = held_out_error(x, y, speakers)
    card = {"held_out": held, "corpora": [str(d) for d in data], "left_out": list(hold_out)}
    save_baseline(fit(x, y), out / "model", card)
    _finish(out, (f"# Pitch baseline from the speaker embedding\n\n{held['utterances']} utterances of "
                  f"{held['speakers']} speakers, five folds of whole speakers: level error "
                  f"{held['level_error_st']:.2f} semitones (spread of the levels themselves "
                  f"{held['level_spread_st']:.2f}), mean error {held['level_bias_st']:+.2f}.\n"), card)
