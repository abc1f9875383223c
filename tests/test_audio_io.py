"""Decoding any file to 16 kHz mono, bad files, and atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.io import iter_blocks, load_audio, probe, save_audio
from voxmorph.errors import AudioError, UserError


@pytest.mark.parametrize("fmt,subtype,ext", [
    ("WAV", None, "wav"), ("FLAC", None, "flac"), ("OGG", "VORBIS", "ogg"), ("OGG", "OPUS", "opus"),
    ("MP3", None, "mp3"),
])
def test_formats_decode_to_model_rate(tmp_path, female_audio, fmt, subtype, ext):
    path = tmp_path / f"x.{ext}"
    sf.write(path, female_audio, SAMPLE_RATE, format=fmt, subtype=subtype)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    # lossy codecs add delay/padding of a few ms at most
    assert abs(y.size - female_audio.size) < 0.05 * SAMPLE_RATE
    n = min(y.size, female_audio.size)
    if fmt in ("WAV", "FLAC"):
        np.testing.assert_allclose(y[:n], female_audio[:n], atol=1e-4)


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 192000])
def test_any_rate_is_resampled(tmp_path, sr):
    t = np.arange(sr) / sr
    sf.write(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), sr)
    y = load_audio(tmp_path / "tone.wav")
    assert abs(y.size - SAMPLE_RATE) <= 2
    spectrum = np.abs(np.fft.rfft(y[2000:-2000]))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / (y.size - 4000)
    assert abs(peak_hz - 440) < 3


def test_stereo_is_averaged(tmp_path):
    left = np.full(SAMPLE_RATE, 0.4)
    sf.write(tmp_path / "st.wav", np.stack([left, -0.2 * np.ones(SAMPLE_RATE)], 1), SAMPLE_RATE)
    np.testing.assert_allclose(load_audio(tmp_path / "st.wav"), 0.1, atol=1e-4)


def test_blocks_concatenate_to_whole(tmp_path, female_audio):
    sf.write(tmp_path / "x.wav", female_audio, 44100)  # declared 44.1 kHz: forces resampling
    whole = load_audio(tmp_path / "x.wav")
    blocks = list(iter_blocks(tmp_path / "x.wav", block_s=0.1))
    assert len(blocks) > 10
    np.testing.assert_allclose(np.concatenate(blocks), whole, atol=1e-6)


def test_missing_empty_and_non_audio_files(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        probe(tmp_path / "nope.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        probe(tmp_path / "empty.wav")
    (tmp_path / "text.wav").write_text("this is not audio\n" * 100)
    with pytest.raises(AudioError, match="not a readable audio file"):
        probe(tmp_path / "text.wav")
    with pytest.raises(AudioError, match="folder"):
        probe(tmp_path)


def test_wav_with_no_samples(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros(0), SAMPLE_RATE)
    with pytest.raises(AudioError, match="no audio samples"):
        probe(tmp_path / "zero.wav")


def test_truncated_file(tmp_path, female_wav):
    data = female_wav.read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[:200])
    with pytest.raises(AudioError):
        load_audio(tmp_path / "cut.flac")


def test_nan_samples_are_refused(tmp_path):
    x = np.zeros(SAMPLE_RATE, np.float32)
    x[100] = np.nan
    sf.write(tmp_path / "nan.wav", x, SAMPLE_RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")
    x[100] = np.inf
    sf.write(tmp_path / "inf.wav", x, SAMPLE_RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match="infinite"):
        load_audio(tmp_path / "inf.wav")


def test_save_is_atomic_and_checks_the_folder(tmp_path):
    save_audio(tmp_path / "ok.wav", np.zeros(1600, np.float32))
    assert sf.info(tmp_path / "ok.wav").frames == 1600
    with pytest.raises(UserError, match="does not exist"):
        save_audio(tmp_path / "missing" / "x.wav", np.zeros(10))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError):
        save_audio(tmp_path / "afile" / "x.wav", np.zeros(10))
    with pytest.raises(UserError, match="cannot write"):
        save_audio(tmp_path / "x.xyz", np.zeros(10))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "ok.wav"]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        save_audio(tmp_path / "out.wav", np.zeros(1600, np.float32))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.wav").stat().st_mode) == 0o644  # not mkstemp's private 0600
