"""``voxmorph bench``: the benchmarks on real recordings, each writing a report into a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import (
    Int8Option,
    ModelOption,
    NetRuntimeOption,
    SynthOption,
    make_typer,
    net_form,
    progress,
    synthesis,
    trained_model,
)
from voxmorph.errors import UserError

app = make_typer("Benchmarks on real recordings (reports go to runs/bench/ unless --out says otherwise).")

DATA_ROOT = Path("../shared/data")
"""Where the benchmarks look for their corpora unless ``--data`` says otherwise: a data folder
beside the checkout, laid out as docs/guide.md#benchmark-data describes."""
REPORTS = Path("runs/bench")
"""Where reports go unless ``--out`` says otherwise (never into docs/ by default)."""


def corpus(folder: Path, needs: str | None = None) -> Path:
    """``folder``, or a one-line error saying what it should hold and where to get it."""
    if not (folder / needs if needs else folder).is_dir():
        what = f"no {needs}/ there" if needs else "no such folder"
        raise UserError(f"{folder}: {what}. The benchmarks read real recordings that do not ship with "
                        "voxmorph (VCC2018 evaluation set, VCTK, LibriSpeech): docs/guide.md#benchmark-data "
                        "says where to get them; pass their folder with --data")
    return folder


@app.command("vc")
def bench_vc(
    data: Annotated[Path, typer.Option(
        help="The vcc2018_eval folder (parallel speakers).")] = DATA_ROOT / "vcc2018_eval",
    out: Annotated[Path, typer.Option(help="Report path: writes OUT.json and OUT.md.")] = REPORTS / "vc",
    utterances: Annotated[int, typer.Option(help="Converted utterances per pair (max 25).")] = 25,
    jobs: Annotated[int, typer.Option(help="Parallel worker processes.")] = 2,
    neural_vocoder: Annotated[bool, typer.Option(
        "--neural-vocoder", help="Also convert with the neural vocoder as synthesiser.")] = False,
    neural: Annotated[bool, typer.Option(
        "--neural/--no-neural", help="Run the neural converter: zero-shot, calibrated and adapted.")] = True,
    adapt_steps: Annotated[int, typer.Option(help="Adapter training steps per target.")] = 300,
    few_shot: Annotated[bool, typer.Option(
        "--few-shot/--no-few-shot", help="Also enrol each VCC2018 target from 3 sentences.")] = True,
    unseen: Annotated[bool, typer.Option(
        "--unseen/--no-unseen", help="Also convert into VCTK and LibriSpeech targets (from the "
        "vctk/ and librispeech/ folders beside --data).")] = True,
    content_model: Annotated[Path | None, typer.Option(
        help="Neural converter: a trained content encoder folder instead of the shipped one.")] = None,
    decoder_model: Annotated[Path | None, typer.Option(
        help="Neural converter: a trained decoder folder instead of the shipped one.")] = None,
    vocoder_model: Annotated[Path | None, typer.Option(
        help="Neural converter: a trained vocoder folder instead of the shipped converter vocoder.")] = None,
):
    """Convert VCC2018 sources into enrolled targets and judge against the real target: WORLD
    baseline and neural converter (zero-shot, calibrated, adapted), from 10 and 3 enrolment sentences.
    The model options score candidate models before they are shipped."""
    from voxmorph.eval.bench_vc import BenchOptions, run_bench_vc

    given = ((content_model, "content encoder"), (decoder_model, "decoder"), (vocoder_model, "vocoder"))
    for folder, what in given:
        if folder is not None:
            trained_model(folder, what)
    models = tuple(None if folder is None else str(folder) for folder, _ in given)
    if neural:
        from voxmorph.pipeline.neural.models import NeuralModels

        NeuralModels.load(*models)  # fail now, not in a worker an hour later
    elif any(models):
        raise UserError("the model options choose the neural converter's models; they need --neural")
    options = BenchOptions(utterances=utterances, neural=neural, neural_vocoder=neural_vocoder,
                           adapt_steps=adapt_steps, few_shot=few_shot, unseen=unseen, models=models)
    md = run_bench_vc(corpus(data, "VCC2SM1"), out, options, jobs=jobs)
    typer.echo(md.rstrip())


@app.command("live")
def bench_live(
    data: Annotated[Path, typer.Option(help="The vcc2018_eval folder.")] = DATA_ROOT / "vcc2018_eval",
    out: Annotated[Path, typer.Option(help="Report path: writes OUT.json and OUT.md.")] = REPORTS / "live",
    seconds: Annotated[float, typer.Option(help="Seconds of speech for the paced runs.")] = 60.0,
    memory_minutes: Annotated[float, typer.Option(
        help="Minutes of the (unpaced) memory stream; the published figure uses 30.")] = 5.0,
    load_minutes: Annotated[float, typer.Option(
        help="Minutes of the paced runs under a competing CPU hog at normal worker priority (the "
             "converter's, then the identity converter's).")] = 10.0,
    vocoder: SynthOption = None,
    model: ModelOption = "neural",
    int8: Int8Option = None,
    runtime: NetRuntimeOption = "numba",
    browser: Annotated[bool, typer.Option(
        help="Also measure the live page end to end in headless Chromium against a real server.")] = True,
):
    """Latency, compute RTF, degradations (alone, under load, two streams at once), memory and
    streamed-vs-offline quality of the live engine through the file clock; and the live page's
    end to end in Chromium."""
    from voxmorph.eval.bench_live import QUALITY_PAIRS, run_bench_live

    form = net_form(model, runtime, int8)
    if min(seconds, memory_minutes, load_minutes) <= 0:
        raise UserError("--seconds, --memory-minutes and --load-minutes must be positive")
    corpus(data, "VCC2SM1")
    steps = 2 * int(load_minutes) + memory_minutes + len(QUALITY_PAIRS) * 25
    with progress(steps, "bench live", unit="steps") as bar:
        md = run_bench_live(data, out, seconds, memory_minutes, load_minutes, progress=lambda: bar.update(1),
                            model=model, vocoder=synthesis(model, vocoder), form=form, browser=browser)
    typer.echo(md.rstrip())


@app.command("content")
def bench_content(
    data: Annotated[Path, typer.Option(help="Folder with vcc2018_eval/.")] = DATA_ROOT,
    out: Annotated[Path, typer.Option(help="Report path: writes OUT.json and OUT.md.")] = REPORTS / "content",
    model: Annotated[Path | None, typer.Option(help="Content encoder folder (default: shipped).")] = None,
    per_voice: Annotated[int, typer.Option(help="Held-out synthetic sentences per voice.")] = 15,
    sentences: Annotated[int, typer.Option(help="VCC2018 sentences (every speaker reads each).")] = 20,
):
    """Phone error rate on held-out synthetic voices, cross-speaker phone agreement on real
    parallel speech (VCC2018), and a speaker probe on the content (vs one on log-mel)."""
    from voxmorph.eval.bench_content import run_bench_content
    from voxmorph.models.content import load_content
    from voxmorph.paths import shipped_model

    corpus(data, "vcc2018_eval")
    encoder, meta = load_content(model or shipped_model("content"))
    typer.echo(run_bench_content(encoder, meta, data, out, per_voice, sentences).rstrip())


@app.command("vocoder")
def bench_vocoder(
    data: Annotated[Path, typer.Option(help="Folder with vcc2018_eval/ and vctk/.")] = DATA_ROOT,
    out: Annotated[Path, typer.Option(help="Report path: writes OUT.json and OUT.md.")] = REPORTS / "vocoder",
    per_speaker: Annotated[int, typer.Option(help="Utterances per bench speaker.")] = 4,
    model: Annotated[Path | None, typer.Option(help="Vocoder folder (default: the shipped one).")] = None,
):
    """Copy synthesis of unseen speakers (VCC2018 eval, VCTK): neural vs WORLD on PESQ, STOI, MCD,
    F0 RMSE and DNSMOS, and synthesis speed (x real time, 2 threads and 1) against WORLD's."""
    from voxmorph.eval.bench_vocoder import bench_files, run_bench_vocoder

    corpus(data, "vcc2018_eval")
    with progress(len(bench_files(data, per_speaker)), "bench vocoder", unit="files") as bar:
        md = run_bench_vocoder(data, out, per_speaker, model, progress=lambda: bar.update(1))
    typer.echo(md.rstrip())


@app.command("tts")
def bench_tts(
    data: Annotated[Path, typer.Option(
        help="The data folder holding librispeech/, vctk/ and vcc2016_train/ (real recordings of the "
        "voices whose identity is scored).")] = DATA_ROOT,
    out: Annotated[Path, typer.Option(help="Report path: writes OUT.json and OUT.md.")] = REPORTS / "tts",
    voice: Annotated[list[str] | None, typer.Option(
        "--voice", help="Voices speak reads the sentences in for WER and DNSMOS (repeat; default "
        "vcc-tm1 and vcc-tf1).")] = None,
    sentences: Annotated[int, typer.Option(min=1, max=40, help="Harvard sentences (max 40).")] = 40,
    timing_runs: Annotated[int, typer.Option(min=1, help="Runs of each whole command for the timing.")] = 3,
    tts_model: Annotated[Path | None, typer.Option(
        help="A trained text-to-frames model folder instead of the shipped one.")] = None,
):
    """Text to speech against Piper (joe) in the same run: wall time of each whole command on the
    same text file, time to first audio, pocketsphinx WER, DNSMOS, and the identity of speak
    against convert into the same voices (built-in and enrolled here from real recordings)."""
    from voxmorph.eval.bench_tts import TtsBenchOptions, run_bench_tts

    for sub in ("librispeech", "vctk", "vcc2016_train"):
        corpus(data, sub)
    model = trained_model(tts_model, "text-to-frames model") if tts_model else None
    options = TtsBenchOptions(voices=tuple(voice or ("vcc-tm1", "vcc-tf1")), sentences=sentences,
                              timing_runs=timing_runs, tts_model=model)
    out.parent.mkdir(parents=True, exist_ok=True)
    r = run_bench_tts(data, out, options)
    t = r["timing"]
    wall = t["median_wall_seconds"]
    typer.echo(f"speak {wall['ours']:.1f} s vs piper {wall['piper joe']:.1f} s "
               f"(ratio {t['ratio_ours_over_piper']:.2f}); report in {out}.md")


@app.command("emotion")
def bench_emotion(
    data: Annotated[Path, typer.Option(
        help="The data folder holding emodb/ (acted emotions) and vctk/ (English read speech).")] = DATA_ROOT,
    out: Annotated[Path, typer.Option(help="Report path: writes OUT.json and OUT.md.")] = REPORTS / "emotion",
    voice: Annotated[list[str] | None, typer.Option(
        "--voice", help="Voices to convert into (repeat; default vcc-tf1 and vcc-tm1).")] = None,
    per_speaker: Annotated[int, typer.Option(
        min=0, help="Takes per speaker and emotion (0: all; 2 for a quick look).")] = 0,
    english: Annotated[int, typer.Option(min=0, help="VCTK recordings per speaker (0 skips).")] = 3,
    sentences: Annotated[int, typer.Option(min=0, max=40, help="Harvard sentences speak reads in "
                                           "each emotion (0 skips).")] = 10,
    prosody_steps: Annotated[int, typer.Option(
        min=0, help="Training steps of each fold's prosody model (0: the measured styles only).")] = 1500,
):
    """Emotion through conversion, judged on speakers neither the judge nor the emotion styles and
    prosody model were fitted on (each fold's prosody model is trained here, a few minutes): is
    an acted emotion kept by plain convert, and does convert --emotion give the asked one (rising
    with intensity), keeping words and voice?"""
    from voxmorph.eval.bench_emotion import EmotionBenchOptions, markdown, run_bench_emotion, summarise
    from voxmorph.eval.report import write_report

    corpus(data, "emodb")
    if english:
        corpus(data, "vctk")
    options = EmotionBenchOptions(voices=tuple(voice or ("vcc-tf1", "vcc-tm1")), per_speaker=per_speaker,
                                  english=english, sentences=sentences, prosody_steps=prosody_steps)
    r = run_bench_emotion(data, options)
    write_report(out, {**r, "summary": summarise(r)}, markdown)
    typer.echo(markdown(r).rstrip())
    typer.echo(f"report in {out}.md")


@app.command("serve")
def bench_serve(
    data: Annotated[Path, typer.Option(help="The vcc2018_eval folder (the speech clients send).")]
    = DATA_ROOT / "vcc2018_eval",
    out: Annotated[Path, typer.Option(help="Report path: writes OUT.json, OUT.md, OUT.memory.png.")]
    = REPORTS / "serve",
    seconds: Annotated[float, typer.Option(help="Length of the run.")] = 60.0,
    clients: Annotated[int, typer.Option(help="Concurrent HTTP clients.")] = 8,
    streams: Annotated[int | None, typer.Option(
        help="Live streams to attempt (default: twice what the server admits).")] = None,
    model: ModelOption = "neural",
    workers: Annotated[int, typer.Option(help="The server's HTTP workers.")] = 1,
    queue: Annotated[int, typer.Option(help="The server's job queue.")] = 4,
    baseline_seconds: Annotated[float, typer.Option(
        help="First, the admitted streams alone for this long (0: skip).")] = 30.0,
):
    """Start a real server on loopback and load it: live streams at real-time pace (twice what it
    admits) plus HTTP clients; report refusals, errors, degraded live blocks, latency and memory."""
    from voxmorph.eval.bench_serve import run_bench_serve

    if seconds <= 0 or clients < 0 or baseline_seconds < 0 or (streams is not None and streams < 0):
        raise UserError("--seconds must be positive; --clients and --streams cannot be negative")
    speech = sorted((corpus(data, "VCC2SM1") / "VCC2SM1").glob("*.*"))[0]
    typer.echo(run_bench_serve(speech, out, seconds, clients, streams, model, workers, queue,
                               baseline_seconds).rstrip())


@app.command("fuzz")
def bench_fuzz(
    out: Annotated[Path, typer.Option(help="Report path: writes OUT.json and OUT.md.")] = REPORTS / "fuzz",
    examples: Annotated[int, typer.Option(help="Generated cases per target (per API operation).")] = 2000,
):
    """Fuzz the audio decoder, the voice-folder loader and every HTTP API operation (schemathesis)
    with a long budget; a failure prints the smallest input that breaks the property."""
    if examples < 1:
        raise UserError("--examples must be at least 1")
    try:
        from voxmorph.eval.fuzz import run_fuzz
    except ImportError as err:
        raise UserError(f"bench fuzz needs the development extras ({err.name} is missing): "
                        "pip install -e '.[dev]'") from None
    md, failures = run_fuzz(out, examples)
    typer.echo(md.rstrip())
    if failures:
        raise UserError(f"{failures} fuzz target(s) failed; the report names the inputs")
