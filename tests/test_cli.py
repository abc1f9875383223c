"""The voxmorph command end to end, as a user runs it: real files, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.paths import shipped_model

pytestmark = pytest.mark.slow


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "voxmorph.cli", *map(str, args)],
        capture_output=True, text=True, env=os.environ.copy(), timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"voxmorph {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return proc


def assert_user_error(proc: subprocess.CompletedProcess, needle: str) -> None:
    """Non-zero exit, one line on stderr mentioning ``needle``, no traceback."""
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1, proc.stderr
    assert needle.lower() in lines[0].lower(), lines[0]


def test_help_on_every_command():
    for cmd in ([], ["voice"], ["voice", "add"], ["voice", "list"], ["voice", "show"],
                ["voice", "remove"], ["convert"], ["eval"], ["eval", "vc"], ["bench"],
                ["bench", "vc"], ["live"], ["devices"], ["serve"], ["bench", "live"]):
        proc = run(*cmd, "--help")
        assert "Usage" in proc.stdout and len(proc.stdout) > 100
    # placeholders read as words, not as Typer's internals ("{FILE}...", "FILE <list[Path]>")
    shown = run("voice", "add", "--help").stdout
    assert "NAME FILE..." in shown and "<" not in shown and "{" not in shown, shown


def test_voice_round_trip_and_convert_real_recording(tmp_path, female_wav, female_wav2, male_wav):
    out = run("voice", "add", "alice", female_wav, female_wav2, "--description", "p225")
    assert "enrolled 'alice'" in out.stdout
    assert "alice" in run("voice", "list").stdout
    assert "calibrated to the neural decoder" in out.stdout
    shown = json.loads(run("voice", "show", "alice", "--json").stdout)
    assert shown["source_files"] == 2 and 150 < shown["f0_median_hz"] < 300
    assert shown["decoder_fit"]["method"] == "calibration" and shown["decoder_fit"]["frames"] > 100
    assert_user_error(run("voice", "add", "alice", female_wav, check=False), "already exists")

    converted = tmp_path / "converted.wav"
    run("convert", male_wav, "--voice", "alice", "-o", converted)
    y, sr = sf.read(converted)
    assert sr == SAMPLE_RATE and abs(y.size - sf.info(male_wav).frames) <= 1
    assert np.sqrt(np.mean(y**2)) > 0.01

    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("converted\tsource\ttarget_ref\tparallel_target\n"
                     f"{converted}\t{male_wav}\t{female_wav2}\t{female_wav}\n"
                     f"{male_wav}\t{male_wav}\t{female_wav2}\t{female_wav}\n")
    run("eval", "vc", "--pairs", pairs, "--out", tmp_path / "report")
    report = json.loads((tmp_path / "report.json").read_text())
    conv_row, same_row = report["rows"]
    assert same_row["wave_corr"] == pytest.approx(1.0, abs=1e-4) and same_row["cer"] == 0.0
    assert conv_row["similarity"] > same_row["similarity"]  # converting moved the voice toward alice
    assert (tmp_path / "report.md").read_text().count("|") > 10

    run("voice", "remove", "alice")
    assert_user_error(run("voice", "show", "alice", check=False), "unknown voice")


def test_builtin_voice_converts_several_files(tmp_path, male_wav, espeak_wav):
    name = run("voice", "list").stdout.split()[0]
    outdir = tmp_path / "out"
    run("convert", male_wav, espeak_wav, "--voice", name, "-o", outdir, "--f0", "dio")
    assert sorted(p.name for p in outdir.iterdir()) == ["espeak.wav", "p226_003.wav"]


def test_one_bad_file_in_a_batch_stops_none_of_the_others(tmp_path, male_wav, espeak_wav):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all\n" * 50)
    outdir = tmp_path / "out"
    proc = run("convert", male_wav, bad, espeak_wav, "--voice", "vcc-tf1", "-o", outdir, "--model", "world",
               "--f0", "dio", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert sorted(p.name for p in outdir.iterdir()) == ["espeak.wav", "p226_003.wav"]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "notes.wav" in errors[0] and "1 of 3 files not converted" in errors[1]


@pytest.fixture
def bad_inputs(tmp_path, female_audio):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "text.wav").write_text("not audio at all\n" * 50)
    (d / "empty.wav").write_bytes(b"")
    sf.write(d / "silence.wav", np.zeros(3 * SAMPLE_RATE), SAMPLE_RATE)
    sf.write(d / "short.wav", female_audio[SAMPLE_RATE : SAMPLE_RATE + 3000], SAMPLE_RATE)
    nan = female_audio.copy()
    nan[5000] = np.nan
    sf.write(d / "nan.wav", nan, SAMPLE_RATE, subtype="FLOAT")
    return d


@pytest.mark.parametrize(
    "name,needle",
    [("text.wav", "not a readable audio file"), ("empty.wav", "empty"),
     ("silence.wav", "no speech"), ("short.wav", "too short"), ("nan.wav", "NaN"),
     ("missing.wav", "no such file")],
)
def test_bad_input_gives_one_line_and_no_output(bad_inputs, tmp_path, name, needle):
    out = tmp_path / "out.wav"
    proc = run("convert", bad_inputs / name, "--voice", "vcc-tf1", "-o", out, "--f0", "dio",
               check=False)
    assert_user_error(proc, needle)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.wav")]


@pytest.mark.parametrize("sr,channels", [(8000, 1), (192000, 1), (44100, 2)])
def test_unusual_rates_and_stereo_work(tmp_path, female_audio, sr, channels):
    from voxmorph.audio.dsp import resample

    x = resample(female_audio, SAMPLE_RATE, sr)
    data = np.stack([x, 0.5 * x], axis=1) if channels == 2 else x
    src = tmp_path / f"in_{sr}.wav"
    sf.write(src, data, sr)
    run("convert", src, "--voice", "vcc-tm1", "-o", tmp_path / "out.wav", "--f0", "dio")
    info = sf.info(tmp_path / "out.wav")
    assert info.samplerate == SAMPLE_RATE and info.channels == 1
    assert abs(info.duration - female_audio.size / SAMPLE_RATE) < 0.01


def test_path_errors(tmp_path, male_wav):
    (tmp_path / "afile").write_text("x")
    cases = [
        (["-o", tmp_path / "afile" / "o.wav"], "does not exist"),
        (["-o", tmp_path / "nofolder" / "o.wav"], "does not exist"),
        (["-o", male_wav], "overwrite the input"),
    ]
    for extra, needle in cases:
        assert_user_error(run("convert", male_wav, "--voice", "vcc-tf1", *extra, check=False), needle)
    assert_user_error(
        run("convert", male_wav, "--voice", "nobody", "-o", tmp_path / "o.wav", check=False),
        "unknown voice",
    )


def test_damaged_voice_folder(tmp_path, female_wav, female_wav2, male_wav):
    run("voice", "add", "bob", female_wav, female_wav2)
    home = Path(os.environ["VOXMORPH_HOME"])
    (home / "voices" / "bob" / "stats.npz").write_bytes(b"garbage")
    proc = run("convert", male_wav, "--voice", "bob", "-o", tmp_path / "o.wav", check=False)
    assert_user_error(proc, "damaged")
    assert not (tmp_path / "o.wav").exists()


def test_a_voice_fitted_to_another_decoder_converts_zero_shot_and_says_so(tmp_path, female_wav,
                                                                          female_wav2, male_wav):
    run("voice", "add", "old", female_wav, female_wav2)
    meta_path = Path(os.environ["VOXMORPH_HOME"]) / "voices" / "old" / "voice.json"
    meta = json.loads(meta_path.read_text())
    meta["adapter"]["decoder"] = "0" * 16  # as if calibrated to an earlier shipped decoder
    meta_path.write_text(json.dumps(meta))
    proc = run("convert", male_wav, "--voice", "old", "-o", tmp_path / "o.wav")
    assert "fitted to another decoder" in proc.stderr and (tmp_path / "o.wav").exists()
    proc = run("convert", male_wav, "--voice", "vcc-tf1", "-o", tmp_path / "b.wav")
    assert "fitted to another decoder" not in proc.stderr  # built-ins fit the shipped decoder


def _peak_rss_kb(*args) -> int:
    code = (
        "import resource, sys; from voxmorph.cli import main; sys.argv=['voxmorph', *sys.argv[1:]];\n"
        "try:\n main()\nfinally:\n print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stderr.split("RSS")[-1].split()[0])


@pytest.mark.parametrize("model", ["neural", "world"])
def test_long_input_streams_in_bounded_memory(tmp_path, male_audio, model):
    """A 6-minute 48 kHz stereo file must not cost more memory than a 1-minute one.

    Held whole, the 6-minute input alone would add about 140 MB as float32 at 48 kHz stereo (and
    its 16 kHz copy, features and output more; WORLD's float64 envelope about 300 MB); streamed,
    peak memory is that of one 10 s chunk.
    """
    from voxmorph.audio.dsp import resample

    x48 = resample(male_audio, SAMPLE_RATE, 48000)
    rss = {}
    for minutes in (1, 6):
        reps = int(np.ceil(minutes * 60 * 48000 / x48.size))
        long = np.tile(x48, reps)[: minutes * 60 * 48000]
        src = tmp_path / f"long{minutes}.flac"
        sf.write(src, np.stack([long, long], axis=1), 48000)
        del long
        rss[minutes] = _peak_rss_kb("convert", src, "--voice", "vcc-tf1", "-o",
                                    tmp_path / f"o{minutes}.wav", "--f0", "dio", "--model", model)
        assert abs(sf.info(tmp_path / f"o{minutes}.wav").duration - minutes * 60) < 0.01
    assert rss[6] - rss[1] < 150_000, rss  # KB; allocator noise is tens of MB


def test_live_from_a_file_runs_the_engine_and_keeps_length(tmp_path, male_wav):
    out = tmp_path / "live.wav"
    proc = run("live", "--voice", "vcc-tf1", "--model", "world", "--input", male_wav, "--output", out)
    y, sr = sf.read(out)
    assert sr == SAMPLE_RATE and y.size == sf.info(male_wav).frames  # aligned, same length
    assert np.sqrt(np.mean(y**2)) > 0.01
    assert "0 degraded" in proc.stderr and "latency 37.5 ms" in proc.stderr


def test_bench_vc_model_options_are_checked_before_any_work(tmp_path):
    data = Path(__file__).parent  # any folder: the model checks come first
    assert_user_error(run("bench", "vc", "--data", data, "--decoder-model", tmp_path, "--out",
                          tmp_path / "r", check=False), "no trained decoder")
    assert_user_error(run("bench", "vc", "--data", data, "--no-neural", "--content-model",
                          shipped_model("content"), "--out", tmp_path / "r", check=False), "need --neural")
    assert not list(tmp_path.iterdir())


def test_bench_live_options_are_checked_before_any_work(tmp_path):
    assert_user_error(run("bench", "live", "--data", tmp_path, "--load-minutes", "0", "--out", tmp_path / "r",
                          check=False), "must be positive")
    assert_user_error(run("bench", "live", "--data", tmp_path, "--model", "world", "--float32", "--out",
                          tmp_path / "r", check=False), "neural converter")
    assert not list(tmp_path.iterdir())


def test_live_bad_inputs_are_one_line_errors(tmp_path, male_wav):
    out = tmp_path / "x.wav"
    assert_user_error(run("live", "--voice", "vcc-tf1", "--input", tmp_path / "none.wav", "--output", out,
                          check=False), "no such file")
    assert_user_error(run("live", "--voice", "vcc-tf1", "--latency-ms", "10", "--input", male_wav,
                          "--output", out, check=False), "minimum")
    assert_user_error(run("live", "--voice", "nobody", "--input", male_wav, "--output", out, check=False),
                      "nobody")
    assert_user_error(run("live", "--voice", "vcc-tf1", "--input", male_wav, check=False), "go together")
    assert_user_error(run("live", "--voice", "vcc-tf1", "--model", "world", "--int8", "--input", male_wav,
                          "--output", out, check=False), "neural converter")
    assert_user_error(run("live", "--voice", "vcc-tf1", "--runtime", "tensorrt", "--input", male_wav,
                          "--output", out, check=False), "unknown runtime")
    assert not out.exists()


def test_live_without_devices_says_so(tmp_path):
    from voxmorph.realtime.devices import list_devices

    if any(d["inputs"] for d in list_devices()):
        pytest.skip("this machine has an audio input device")
    assert_user_error(run("live", "--voice", "vcc-tf1", check=False), "no audio input device")
