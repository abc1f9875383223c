"""The ``voxmorph`` command: a thin layer over :mod:`voxmorph.pipeline` and :mod:`voxmorph.eval`.

Every error a user can cause is a :class:`~voxmorph.errors.UserError`; :func:`main` prints it
as one line on stderr and exits with status 1, without a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from voxmorph.errors import UserError


def _typer(help: str) -> typer.Typer:
    return typer.Typer(help=help, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False, rich_markup_mode=None)


app = _typer("voxmorph: voice conversion on a CPU, offline. Enrol voices, convert recordings, "
             "and measure the result.")
voice_app = _typer("Enrol, list, show and remove voices.")
eval_app = _typer("Judge converted audio with objective metrics.")
bench_app = _typer("Benchmarks on real recordings.")
train_app = _typer("Train voxmorph's models on speech corpora (CPU by default; GPUs through accelerate).")
app.add_typer(voice_app, name="voice")
app.add_typer(eval_app, name="eval")
app.add_typer(bench_app, name="bench")
data_app = _typer("Prepare training data.")
app.add_typer(train_app, name="train")
app.add_typer(data_app, name="data")

F0Option = Annotated[
    str, typer.Option("--f0", help="F0 tracker: harvest (accurate), dio (fast) or praat.")
]
SynthOption = Annotated[
    str | None, typer.Option("--vocoder", help="Synthesis for --model world: world (WORLD, its "
                             "default) or neural (the trained vocoder). The neural converter has "
                             "its own vocoder.")
]
ModelOption = Annotated[
    str, typer.Option("--model", help="Converter: neural (content encoder + VAE decoder + neural "
                      "vocoder) or world (the no-training WORLD baseline: lighter, less faithful).")
]


def _synthesis(model: str, vocoder: str | None) -> str:
    """The synthesis ``--vocoder`` chose: only the WORLD baseline has a choice."""
    if vocoder is not None and model == "neural":
        raise UserError("--vocoder chooses the synthesis of --model world; the neural converter "
                        "always uses its own vocoder")
    return vocoder or "world"


def _progress(total: float, desc: str, unit: str = "s"):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False,
                bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} {unit} [{elapsed}<{remaining}]")


@voice_app.command("add")
def voice_add(
    name: Annotated[str, typer.Argument(help="Name of the new voice (letters, digits, . _ -).")],
    files: Annotated[list[Path], typer.Argument(help="Recordings of the speaker, any format/rate.")],
    description: Annotated[str, typer.Option(help="A note shown by 'voice show'.")] = "",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing voice.")] = False,
    f0: F0Option = "harvest",
    adapt: Annotated[bool, typer.Option(
        "--adapt", help="Fine-tune a small decoder adapter on these recordings for the neural "
        "converter (a few CPU minutes). Without it the voice is only calibrated: a per-band "
        "correction measured in seconds.")] = False,
    adapt_steps: Annotated[int, typer.Option(help="Adapter training steps (with --adapt).")] = 300,
    checks: Annotated[bool, typer.Option(
        "--checks/--no-checks", help="Refuse clipped or noisy recordings and recordings of several "
        "speakers.")] = True,
):
    """Enrol a voice from recordings of one speaker (at least 3 s of speech; 30 s+ is better).

    The recordings are checked first: too little speech, clipping, heavy noise and more than
    one speaker are refused with the reason.
    """
    from voxmorph.audio.f0 import get_tracker
    from voxmorph.audio.io import probe
    from voxmorph.pipeline.enrol import enrol_voice
    from voxmorph.pipeline.store import VoiceStore

    store = VoiceStore()
    if store.exists(name) and not force:  # refuse before minutes of analysis, not after
        raise UserError(f"voice '{name}' already exists; use --force to replace it")
    if adapt_steps < 1:
        raise UserError("--adapt-steps must be at least 1")
    from voxmorph.pipeline.neural_converter import NeuralModels

    models = NeuralModels.load()  # fail before the analysis if there is no neural model
    total = sum(probe(f).duration for f in files)
    with _progress(total, f"enrolling {name}") as bar:
        voice = enrol_voice(name, files, description, get_tracker(f0), progress=bar.update, check=checks)
    if adapt:
        from voxmorph.train.adapter import adapt_voice

        typer.echo(f"adapting the decoder to '{name}' ({adapt_steps} steps)", err=True)
        voice = adapt_voice(voice, files, models.content, models.decoder, models.decoder_id,
                            steps=adapt_steps)
    else:
        from voxmorph.pipeline.calibration import calibrate_voice

        with _progress(total, f"calibrating {name}") as bar:
            voice = calibrate_voice(voice, files, models, get_tracker(f0), progress=bar.update)
    path = store.save(voice, overwrite=force)
    s = voice.summary()
    typer.echo(f"enrolled '{name}': {s['speech_seconds']} s of speech from {len(files)} file(s), "
               f"median F0 {s['f0_median_hz']} Hz -> {path}")
    a = voice.adapter.info
    if adapt:
        typer.echo(f"adapted in {a['cpu_seconds'] / 60:.1f} CPU-min: mel L1 on the recordings "
                   f"{a['mel_l1_before']:.3f} -> {a['mel_l1_after']:.3f}")
    else:
        typer.echo(f"calibrated to the neural decoder in {a['cpu_seconds']:.0f} CPU-s")


@voice_app.command("list")
def voice_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False):
    """List built-in and enrolled voices."""
    from voxmorph.pipeline.store import VoiceStore

    store = VoiceStore()
    builtin, user = set(store.builtin_names()), set(store.user_names())
    rows = [{"name": n, "kind": "user" if n in user else "built-in"} for n in store.names()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no voices")
    for r in rows:
        typer.echo(f"{r['name']:<24} {r['kind']}")
    if not user:
        typer.echo(f"({len(builtin)} built-in voices; enrol your own with: voxmorph voice add NAME FILE...)")


@voice_app.command("show")
def voice_show(
    name: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
):
    """Show a voice's statistics and where it came from."""
    from voxmorph.pipeline.store import VoiceStore

    summary = VoiceStore().get(name).summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        typer.echo(f"{key:<16} {value}")


@voice_app.command("remove")
def voice_remove(name: str):
    """Delete an enrolled voice (built-in voices cannot be removed)."""
    from voxmorph.pipeline.store import VoiceStore

    VoiceStore().remove(name)
    typer.echo(f"removed '{name}'")


def _note_adapter(model: str, converter, target) -> None:
    """Tell the user when a voice's adapter does not fit the decoder ``converter`` loaded."""
    if model == "neural" and converter.models.adapted(target) is False:
        typer.echo(f"note: voice '{target.name}' was fitted to another decoder; converting zero-shot "
                   f"(enrol it again to fit this one: voxmorph voice add {target.name} FILES... --force "
                   "[--adapt])", err=True)


@app.command()
def convert(
    inputs: Annotated[list[Path], typer.Argument(help="Audio file(s) to convert, any format/rate.")],
    voice: Annotated[str, typer.Option("--voice", "-v", help="Target voice (see 'voice list').")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file; a folder for several inputs.")],
    f0: F0Option = "harvest",
    pitch_shift: Annotated[float, typer.Option(help="Extra pitch shift in semitones.")] = 0.0,
    denoise: Annotated[bool, typer.Option("--denoise", help="Reduce stationary noise first.")] = False,
    vocoder: SynthOption = None,
    model: ModelOption = "neural",
):
    """Convert recordings into a voice.

    Output is 16 kHz mono: WAV, or FLAC/OGG by the output's extension. Files of any length
    stream through in constant memory.
    """
    from voxmorph.audio.io import probe
    from voxmorph.pipeline.converters import offline_converter
    from voxmorph.pipeline.files import convert_file, plan_outputs
    from voxmorph.pipeline.store import VoiceStore
    from voxmorph.pipeline.voice_mapping import MappingOptions

    plan = plan_outputs(inputs, output)
    target = VoiceStore().get(voice)
    if len(plan) > 1:
        plan[0][1].parent.mkdir(parents=True, exist_ok=True)
    mapping = MappingOptions(pitch_shift=pitch_shift)
    converter = offline_converter(model, target, _synthesis(model, vocoder), f0, denoise, mapping)
    _note_adapter(model, converter, target)
    for src, dst in plan:
        duration = probe(src).duration
        start = time.perf_counter()
        with _progress(duration, src.name) as bar:
            convert_file(converter, src, dst, progress=bar.update)
        took = time.perf_counter() - start
        typer.echo(f"{src} -> {dst} ({model} converter, {duration:.1f} s audio in {took:.1f} s, "
                   f"{duration / max(took, 1e-9):.1f}x real time)")


@app.command()
def vocode(
    input: Annotated[Path, typer.Argument(help="Audio file, any format/rate.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output audio file (16 kHz).")],
    vocoder: Annotated[str, typer.Option(help="neural (trained) or world (the WORLD baseline).")] = "neural",
    model: Annotated[Path | None, typer.Option(help="A trained vocoder folder (default: shipped).")] = None,
    runtime: Annotated[str, typer.Option(help="Neural runtime: torch or onnx (onnxruntime).")] = "torch",
    f0: F0Option = "harvest",
):
    """Copy synthesis: analyse a recording and rebuild it with a vocoder, to hear what the vocoder
    alone does to a voice."""
    from voxmorph.audio.io import load_audio, probe, save_audio
    from voxmorph.pipeline.vocoder import get_vocoder

    duration = probe(input).duration
    voc = get_vocoder(vocoder, model, f0, runtime)
    start = time.perf_counter()
    y = voc.resynthesise(load_audio(input))
    took = time.perf_counter() - start
    save_audio(output, y)
    typer.echo(f"{input} -> {output} ({voc.name} vocoder, {duration:.1f} s audio in {took:.1f} s)")


@app.command()
def transcribe(
    input: Annotated[Path, typer.Argument(help="Audio file, any format/rate.")],
    phones: Annotated[bool, typer.Option("--phones", help="Phones from voxmorph's content encoder "
                                         "instead of words.")] = False,
    model: Annotated[Path | None, typer.Option(help="A content encoder folder (default: shipped).")] = None,
):
    """Print what is said: words through pocketsphinx's bundled US-English model, or with --phones
    the phone string voxmorph's content encoder recognises (espeak-ng phone set)."""
    from voxmorph.audio.io import load_audio

    x = load_audio(input)
    if phones:
        from voxmorph.pipeline.recognise import PhoneRecogniser

        typer.echo(" ".join(PhoneRecogniser.load(model)(x)))
    else:
        from voxmorph.eval.asr import Transcriber

        typer.echo(Transcriber()(x))


@app.command("devices")
def devices(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False):
    """List the sound devices 'voxmorph live' can use (via PortAudio)."""
    from voxmorph.realtime.devices import list_devices

    rows = list_devices()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif not rows:
        typer.echo("no audio devices found (files work: voxmorph live --input IN --output OUT)")
    for d in rows:
        typer.echo(f"{d['index']:>3}  {d['name'][:40]:<40} in {d['inputs']:>2}  out {d['outputs']:>2}  "
                   f"{d['default_rate']:>7.0f} Hz  {d['default']}")


@app.command("live")
def live(
    voice: Annotated[str, typer.Option(help="Target voice (see 'voxmorph voice list').")],
    source_voice: Annotated[str | None, typer.Option(
        help="Your own enrolled voice: converts your first seconds, before statistics of the "
             "live stream take over.")] = None,
    latency_ms: Annotated[float | None, typer.Option(
        help="End-to-end budget (before device buffers); block size, look-ahead and jitter "
             "buffer are derived from it. Default: 70 ms for the neural converter (its look-ahead "
             "is 40 ms), 40 ms for --model world.")] = None,
    input_device: Annotated[str | None, typer.Option(help="Input device index or name.")] = None,
    output_device: Annotated[str | None, typer.Option(help="Output device index or name.")] = None,
    monitor: Annotated[bool, typer.Option(
        "--monitor", help="Also play the converted voice on the default output device.")] = False,
    gate: Annotated[bool, typer.Option(help="Silence everything that is not speech.")] = True,
    denoise: Annotated[bool, typer.Option(
        "--denoise", help="Suppress steady background noise before converting (+5 ms).")] = False,
    input: Annotated[Path | None, typer.Option(
        "--input", help="Read this file instead of a device (simulated device clock).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write the converted stream here (with --input).")] = None,
    speed: Annotated[float, typer.Option(
        help="With --input: 0 runs as fast as possible; 1 paces the clock in real time.")] = 0.0,
    seconds: Annotated[float, typer.Option(help="With devices: stop after this long (0 = Ctrl-C).")] = 0.0,
    vocoder: SynthOption = None,
    model: ModelOption = "neural",
):
    """Convert your voice live, from a microphone or, with --input/--output, from a file on the
    same block-by-block code path."""
    from voxmorph.pipeline.converters import streaming_converter
    from voxmorph.pipeline.store import VoiceStore
    from voxmorph.realtime.denoise import StreamingDenoiser
    from voxmorph.realtime.engine import LatencyPlan, LiveEngine
    from voxmorph.realtime.gate import VoiceGate
    from voxmorph.realtime.streaming import Chain

    if (input is None) != (output is None):
        raise UserError("--input and --output go together")
    store = VoiceStore()
    target = store.get(voice)
    source = store.get(source_voice) if source_voice else None
    converter = streaming_converter(model, target, source, _synthesis(model, vocoder))
    _note_adapter(model, converter, target)
    if denoise:
        converter = Chain(StreamingDenoiser(converter.hop), converter)
    latency_ms = latency_ms or LatencyPlan.default_budget_ms(converter)
    plan = LatencyPlan.for_budget(latency_ms, converter)
    engine = LiveEngine(converter, plan, VoiceGate() if gate else None)
    if input is not None:
        _live_file(engine, input, output, speed)
    else:
        _live_devices(engine, input_device, output_device, monitor, seconds)
    s = engine.stats.summary(plan.block / plan.sample_rate)
    typer.echo(f"{plan.describe()} (budget {latency_ms:g} ms)", err=True)
    typer.echo(f"{s['blocks']} blocks, compute RTF mean {s['rtf_mean']:.3f} p99 {s['rtf_p99']:.3f}, "
               f"{s['degraded']} degraded, {s['resyncs']} resyncs; worker at "
               f"{'real-time' if s['realtime_priority'] else 'normal'} priority", err=True)


def _live_file(engine, src: Path, dst: Path, speed: float) -> None:
    from voxmorph.audio.io import probe
    from voxmorph.realtime.clock import run_file

    duration = probe(src).duration
    start = time.perf_counter()
    with _progress(duration, src.name) as bar:
        run_file(engine, src, dst, speed or None, progress=bar.update)
    took = time.perf_counter() - start
    typer.echo(f"{src} -> {dst} ({duration:.1f} s audio in {took:.1f} s)")


def _live_devices(engine, input_device, output_device, monitor: bool, seconds: float) -> None:
    from voxmorph.realtime.devices import open_duplex

    with open_duplex(engine, input_device, output_device, monitor) as info:
        typer.echo(f"live: {engine.plan.describe()}; device buffers add "
                   f"{info['device_latency_ms']:.1f} ms; Ctrl-C stops", err=True)
        start = time.monotonic()
        try:
            while not seconds or time.monotonic() - start < seconds:
                time.sleep(0.5)
                s = engine.stats
                typer.echo(f"\r in {s.input_peak:5.2f}  out {s.output_peak:5.2f}  degraded {s.degraded}"
                           f"  xruns {info['xruns']}", nl=False, err=True)
                s.input_peak = s.output_peak = 0.0
        except KeyboardInterrupt:
            pass
        typer.echo("", err=True)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(
        help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    voice: Annotated[str, typer.Option(help="Voice selected when the page opens.")] = "vcc-tf1",
    gate: Annotated[bool, typer.Option(help="Silence everything that is not speech.")] = True,
    model: ModelOption = "neural",
):
    """Serve the browser live page and its WebSocket API (open http://HOST:PORT/)."""
    import uvicorn

    from voxmorph.serve.app import create_app

    app_ = create_app(default_voice=voice, gate=gate, model=model)  # an unknown voice or model fails here
    typer.echo(f"voxmorph live page on http://{host}:{port}/ ({model} converter)", err=True)
    uvicorn.run(app_, host=host, port=port, log_level="warning")


@eval_app.command("vc")
def eval_vc(
    pairs: Annotated[
        Path, typer.Option(help="TSV: converted, source, target_ref[, parallel_target[, seconds]].")
    ],
    out: Annotated[Path, typer.Option(help="Report path; writes OUT.json and OUT.md.")],
):
    """Judge converted audio: speaker similarity, MCD, F0, CER, DNSMOS, waveform correlation, RTF."""
    from voxmorph.eval.judge import judge_pairs, markdown_table, read_pairs, summarise
    from voxmorph.eval.report import write_report

    table = read_pairs(pairs)
    with _progress(len(table), "judging", unit="pairs") as bar:
        rows = judge_pairs(table, progress=lambda: bar.update(1))
    summary = summarise(rows)
    md = "# voxmorph judge report\n\n" + markdown_table({pairs.name: summary})
    json_path, md_path = write_report(out, {"summary": summary, "rows": rows}, md)
    typer.echo(md.rstrip())
    typer.echo(f"wrote {json_path} and {md_path}")


@bench_app.command("vc")
def bench_vc(
    data: Annotated[Path, typer.Option(help="The vcc2018_eval folder (parallel speakers).")] = Path(
        "../shared/data/vcc2018_eval"
    ),
    out: Annotated[Path, typer.Option(help="Report path; writes OUT.json and OUT.md.")] = Path(
        "docs/bench/vc_vcc2018"
    ),
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
            _trained_model(folder, what)
    models = tuple(None if folder is None else str(folder) for folder, _ in given)
    if neural:
        from voxmorph.pipeline.neural_converter import NeuralModels

        NeuralModels.load(*models)  # fail now, not in a worker an hour later
    elif any(models):
        raise UserError("the model options choose the neural converter's models; they need --neural")
    options = BenchOptions(utterances=utterances, neural=neural, neural_vocoder=neural_vocoder,
                           adapt_steps=adapt_steps, few_shot=few_shot, unseen=unseen, models=models)
    md = run_bench_vc(data, out, options, jobs=jobs)
    typer.echo(md.rstrip())


@bench_app.command("live")
def bench_live(
    data: Annotated[Path, typer.Option(help="The vcc2018_eval folder.")] = Path(
        "../shared/data/vcc2018_eval"
    ),
    out: Annotated[Path, typer.Option(help="Report path; writes OUT.json and OUT.md.")] = Path(
        "docs/bench/live"
    ),
    seconds: Annotated[float, typer.Option(help="Seconds of speech for the paced runs.")] = 60.0,
    memory_minutes: Annotated[float, typer.Option(help="Length of the memory stream.")] = 30.0,
    vocoder: SynthOption = None,
    model: ModelOption = "neural",
):
    """Latency, compute RTF, degradations (alone and under load), memory and streamed-vs-offline
    quality of the live engine, all through the file clock."""
    from voxmorph.eval.bench_live import QUALITY_PAIRS, run_bench_live

    with _progress(memory_minutes + len(QUALITY_PAIRS) * 25, "bench live", unit="steps") as bar:
        md = run_bench_live(data, out, seconds, memory_minutes, progress=lambda: bar.update(1),
                            model=model, vocoder=_synthesis(model, vocoder))
    typer.echo(md.rstrip())


DataOption = Annotated[list[Path], typer.Option(
    "--data", help="A corpus folder (repeat for several): VCTK, LibriSpeech/LibriTTS, LJSpeech, VCC, "
    "EmoDB, ESD, CREMA-D, or any folder of speaker folders.")]
ConfigOption = Annotated[str, typer.Option(help="debug (for tests), small (shipped) or base.")]
ResumeOption = Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")]
LrDecayOption = Annotated[float | None, typer.Option(
    min=0.9, max=1.0, help="Learning-rate decay per step (default 0.999996, nearly constant); with "
    "--resume it replaces the run's own from the next step on, e.g. 0.99885 to anneal the rate "
    "tenfold over 2,000 more steps.")]
StepsOption = Annotated[int | None, typer.Option(help="Total steps to reach (default: the config's).")]
LayoutOption = Annotated[str | None, typer.Option(help="Corpus layout, if detection guesses wrong.")]
CheckpointOption = Annotated[int, typer.Option(help="Steps between checkpoints.")]
SampleOption = Annotated[int, typer.Option(help="Steps between audio samples and plots.")]
HoldOutOption = Annotated[list[str], typer.Option(
    "--hold-out", help="CORPUS/SPEAKER to leave out of training (repeat for several), e.g. "
    "librispeech/40: a speaker a benchmark uses as an unseen voice. With --resume it drops them "
    "from the run from its next step on.")]


def _trained_model(folder: Path, what: str) -> str:
    """The resolved path of a trained model folder a run reads or starts from; a one-line error
    if there is none."""
    if not (folder / "config.json").exists():
        raise UserError(f"{folder}: no trained {what} there (a model folder holds config.json)")
    return str(folder.resolve())


def _train(kind: str, data, out: Path, config, resume, steps, batch_size, layout, checkpoint_every,
           sample_every, hold_out: list[str], transcripts: Path | None = None, **overrides) -> None:
    from voxmorph.train.runs import run_training

    result = run_training(kind, data, out, config, resume, steps, batch_size, layout, checkpoint_every,
                          sample_every, overrides=overrides, transcripts=transcripts, hold_out=hold_out)
    typer.echo(f"step {result.step}: {result.cpu_seconds / 3600:.2f} CPU-hours; model in {out / 'model'}")


@train_app.command("vocoder")
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
        "fine-tune a vocoder for the neural converter (resume a copy of a copy-synthesis run with "
        "this).")] = None,
    content_model: Annotated[Path | None, typer.Option(
        help="With --decoder-model: the content encoder that decoder was trained on (default: the "
        "shipped one).")] = None,
):
    """Train the neural vocoder (mel + F0 -> waveform) by copy synthesis of the given corpora.

    Features are computed once into a cache; progress, losses and ETA show on a bar; TensorBoard
    logs go to OUT/logs. Kill it at any time and continue with --resume. The trained model lands
    in OUT/model (use it with 'voxmorph vocode --model OUT/model').
    """
    from voxmorph.pipeline.neural_converter import WEIGHTS

    if loudness is not None and loudness < 0:
        raise UserError(f"--loudness {loudness}: give 0 or more")
    given = {"loudness": loudness} if loudness is not None else {}
    if decoder_model is not None:
        content_model = content_model or WEIGHTS / "content"
        given.update(decoder_model=_trained_model(decoder_model, "decoder"),
                     content_model=_trained_model(content_model, "content encoder"))
    elif content_model is not None:
        raise UserError("--content-model goes with --decoder-model")
    _train("vocoder", data, out, config, resume, steps, batch_size, layout, checkpoint_every, sample_every,
           hold_out, **given)


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Corpus folder to write (LibriSpeech layout).")] = Path(
        "runs/data/synthetic"
    ),
    per_voice: Annotated[int, typer.Option(help="Sentences per voice.")] = 100,
    piper_per_voice: Annotated[int | None, typer.Option(
        help="Sentences per piper voice (default: --per-voice).")] = None,
    espeak_voices: Annotated[int, typer.Option(help="espeak-ng voices (random variant, pitch, rate).")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the sentences and voices.")] = 0,
):
    """Write transcribed synthetic speech for phone training: Faker sentences read by the bundled
    piper joe voice (three speaking rates) and by espeak-ng voices. Existing files are kept, so
    an interrupted run continues where it stopped."""
    from voxmorph.data.synthetic import default_voices, generate

    voices = default_voices(espeak_voices, seed)
    n = generate(out, per_voice, voices, seed, piper_per_voice=piper_per_voice)
    typer.echo(f"{n} utterances by {len(voices)} voices in {out}")


@data_app.command("transcribe")
def data_transcribe(
    data: DataOption = [],  # noqa: B006
    out: Annotated[Path, typer.Option("--out", help="Transcript file to write (TSV).")] = Path(
        "runs/data/transcripts.tsv"
    ),
    layout: LayoutOption = None,
):
    """Transcribe the untranscribed utterances of corpora with pocketsphinx's bundled English
    model, for 'voxmorph train content --transcripts'. In a parallel corpus (VCC) every reading
    of a sentence gets the readers' consensus. Each line: key, words, and how far the other
    readers' phones are from them (the spread). Interrupted, it continues from OUT.part."""
    from voxmorph.audio.io import load_audio
    from voxmorph.data.transcripts import sentence_groups, transcribe_into
    from voxmorph.eval.asr import Transcriber

    if not data:
        raise UserError("give at least one --data corpus folder")
    groups = sentence_groups(data, layout)
    total = sum(map(len, groups))
    if total == 0:
        raise UserError("every utterance of these corpora already has a transcript")
    asr = Transcriber()
    with _progress(total, "transcribing", "files") as bar:
        rows = transcribe_into(out, groups, lambda path: asr(load_audio(path)), progress=bar.update)
    spreads = [r.spread for r in rows if r.spread is not None]
    note = f"; readers' phone spread {sum(spreads) / len(spreads):.2f} on average" if spreads else ""
    typer.echo(f"{len(rows)} of {total} utterances transcribed into {out}{note}")


@train_app.command("content")
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
    init: Annotated[Path | None, typer.Option(
        help="A trained content encoder (model folder) the new run starts from, e.g. to fine-tune "
        "the shipped one with another recipe. New runs only.")] = None,
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
    if resume and (frame_phones is not None or init is not None):
        raise UserError("--frame-phones and --init shape a new run; a resumed run keeps its own")
    start = _trained_model(init, "content encoder") if init is not None else None
    given = {k: v for k, v in (("lr_decay", lr_decay), ("adversary", adversary),
                               ("frame_phones", frame_phones), ("init", start)) if v is not None}
    _train("content", data, out, config, resume, steps, batch_size, layout, checkpoint_every, sample_every,
           hold_out, transcripts=transcripts, **given)


@train_app.command("decoder")
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
):
    """Train the VAE decoder (content + F0 + energy + speaker embedding -> mel) on real multi-speaker
    speech, GAN-refined against a mel discriminator. The decoder lands in OUT/model."""
    from voxmorph.pipeline.neural_converter import WEIGHTS

    if content_model is None and not resume:
        content_model = WEIGHTS / "content"
    given = {}
    if content_model is not None:
        given["content_model"] = _trained_model(content_model, "content encoder")
    if lookahead is not None and resume:
        raise UserError("--lookahead shapes a new run's decoder; a resumed run keeps its own")
    given.update({k: v for k, v in (("lr_decay", lr_decay), ("consistency", consistency),
                                    ("lookahead", lookahead)) if v is not None})
    _train("decoder", data, out, config, resume, steps, batch_size, layout, checkpoint_every, sample_every,
           hold_out, **given)


@bench_app.command("content")
def bench_content(
    data: Annotated[Path, typer.Option(help="Folder with vcc2018_eval/.")] = Path("../shared/data"),
    out: Annotated[Path, typer.Option(help="Report path; writes OUT.json and OUT.md.")] = Path(
        "docs/bench/content"
    ),
    model: Annotated[Path | None, typer.Option(help="Content encoder folder (default: shipped).")] = None,
    per_voice: Annotated[int, typer.Option(help="Held-out synthetic sentences per voice.")] = 15,
    sentences: Annotated[int, typer.Option(help="VCC2018 sentences (every speaker reads each).")] = 20,
):
    """Phone error rate on held-out synthetic voices, cross-speaker phone agreement on real
    parallel speech (VCC2018), and a speaker probe on the content (vs one on log-mel)."""
    from voxmorph.eval.bench_content import run_bench_content
    from voxmorph.models.content import load_content
    from voxmorph.pipeline.neural_converter import WEIGHTS

    encoder, meta = load_content(model or WEIGHTS / "content")
    typer.echo(run_bench_content(encoder, meta, data, out, per_voice, sentences).rstrip())


@bench_app.command("vocoder")
def bench_vocoder(
    data: Annotated[Path, typer.Option(help="Folder with vcc2018_eval/ and vctk/.")] = Path("../shared/data"),
    out: Annotated[Path, typer.Option(help="Report path; writes OUT.json and OUT.md.")] = Path(
        "docs/bench/vocoder"
    ),
    per_speaker: Annotated[int, typer.Option(help="Utterances per bench speaker.")] = 4,
    model: Annotated[Path | None, typer.Option(help="Vocoder folder (default: the shipped one).")] = None,
):
    """Copy synthesis of unseen speakers (VCC2018 eval, VCTK): neural vs WORLD on PESQ, STOI, MCD,
    F0 RMSE and DNSMOS, and synthesis speed (x real time, 2 threads and 1) against WORLD's."""
    from voxmorph.eval.bench_vocoder import bench_files, run_bench_vocoder

    with _progress(len(bench_files(data, per_speaker)), "bench vocoder", unit="files") as bar:
        md = run_bench_vocoder(data, out, per_speaker, model, progress=lambda: bar.update(1))
    typer.echo(md.rstrip())


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit status 1."""
    try:
        app()
    except UserError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
