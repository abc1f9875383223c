"""The neural converter's plumbing, on untrained debug models: lengths, F0 moved into the target's
range before the decoder, chunking, and the CLI's converter choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_cli import assert_user_error, run

from voxmorph.models.content import CONFIGS as CONTENT_CONFIGS
from voxmorph.models.content import ContentEncoder
from voxmorph.models.decoder import CONFIGS as DECODER_CONFIGS
from voxmorph.models.decoder import MelDecoder
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.neural.offline import NeuralConverter
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.pipeline.vocoder import NeuralVocoder
from voxmorph.voices.enrol import enrol_voice


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return NeuralModels(ContentEncoder(CONTENT_CONFIGS["debug"]).eval(),
                        MelDecoder(DECODER_CONFIGS["debug"]).eval(), NeuralVocoder.load(), "debug")


@pytest.fixture(scope="module")
def female_voice(female_wav, female_wav2):
    return enrol_voice("p225", [female_wav, female_wav2])


def test_output_has_the_input_length_and_is_finite(models, female_voice, male_audio):
    y = NeuralConverter(female_voice, models).convert(male_audio)
    assert y.shape == male_audio.shape and np.isfinite(y).all() and np.abs(y).max() <= 1.0


def test_the_decoder_gets_f0_in_the_target_range(models, female_voice, male_audio, monkeypatch):
    seen = []
    real = models.vocoder.synthesise

    def spy(mel, f0):
        seen.append(np.asarray(f0))
        return real(mel, f0)

    monkeypatch.setattr(models.vocoder, "synthesise", spy)
    NeuralConverter(female_voice, models).convert(male_audio)
    f0 = np.concatenate(seen)
    assert abs(np.log(np.median(f0[f0 > 0]) / female_voice.stats.f0_median_hz)) < np.log(2 ** (2 / 12))


def test_chunked_long_input_keeps_its_length(models, female_voice, male_audio):
    x = np.concatenate([male_audio] * 3)
    options = ConversionOptions(chunk_s=4.0, context_s=0.5, fade_s=0.05)
    y = NeuralConverter(female_voice, models, options).convert(x)
    assert y.shape == x.shape and np.isfinite(y).all()


def test_an_adapter_is_used_only_with_its_own_decoder(models, female_voice):
    from dataclasses import replace

    from voxmorph.voices.voice import VoiceAdapter

    config = models.decoder.config
    arrays = {"u": np.ones(config.channels, np.float32),
              "film": np.zeros((config.blocks, 2 * config.channels), np.float32),
              "mel_bias": np.full(80, 0.5, np.float32)}
    mine = replace(female_voice, adapter=VoiceAdapter(models.decoder_id, arrays))
    other = replace(female_voice, adapter=VoiceAdapter("another", arrays))
    assert models.adapted(mine) is True and models.adapted(other) is False
    assert models.adapted(female_voice) is None
    torch.testing.assert_close(models.conditioning(mine).u, torch.ones(1, config.channels))
    torch.testing.assert_close(models.conditioning(other).u, models.conditioning(female_voice).u)


def _band_residual(models, voice, files) -> np.ndarray:
    """Per-band mean of (real - decoded in ``voice``) log-mel over the sound frames of ``files``."""
    from voxmorph.audio.f0 import HarvestF0, mel_frame_f0
    from voxmorph.audio.features import energy_db, log_mel
    from voxmorph.audio.io import load_audio
    from voxmorph.models.decoder import rebuild_mel
    from voxmorph.pipeline.neural.calibration import SOUND_RANGE_DB

    total, frames = 0.0, 0
    for f in files:
        x = load_audio(f)
        f0 = torch.from_numpy(mel_frame_f0(HarvestF0(), x))[None]
        n = f0.shape[-1]
        with torch.no_grad():
            rebuilt = rebuild_mel(models.content, models.decoder, x, f0, models.conditioning(voice))[0]
        diff = log_mel(x)[:, :n] - rebuilt
        e = energy_db(x)[:n]
        sound = e > e.max() - SOUND_RANGE_DB
        total, frames = total + diff[:, sound].sum(-1).numpy(), frames + int(sound.sum())
    return total / frames


def test_calibration_cancels_the_decoders_mean_colour_on_the_voices_recordings(
        models, female_voice, female_wav, female_wav2, tmp_path):
    from voxmorph.pipeline.neural.calibration import METHOD, calibrate_voice
    from voxmorph.voices.voice import load_voice, save_voice

    files = [female_wav, female_wav2]
    calibrated = calibrate_voice(female_voice, files, models)  # plain rebuilds, the default
    assert models.adapted(calibrated) is True and calibrated.adapter.info["method"] == METHOD
    torch.testing.assert_close(models.conditioning(calibrated).u, models.zero_shot(female_voice).u)
    before, after = _band_residual(models, female_voice, files), _band_residual(models, calibrated, files)
    assert np.abs(before).mean() > 0.1  # an untrained decoder is far off
    np.testing.assert_allclose(after, 0.0, atol=1e-3)
    loaded = load_voice(save_voice(calibrated, tmp_path / "p225"))
    np.testing.assert_array_equal(loaded.adapter.arrays["mel_bias"], calibrated.adapter.arrays["mel_bias"])


def test_calibration_by_round_trips_cancels_the_colour_of_conversions_through_the_least_alike_voices(
        models, female_voice, female_wav):
    from voxmorph.audio.f0 import HarvestF0, mel_frame_f0
    from voxmorph.audio.features import MEL_STD, energy_db, log_mel
    from voxmorph.audio.io import load_audio
    from voxmorph.models.decoder import frame_conditioning, source_frames
    from voxmorph.pipeline.neural.calibration import (
        ROUND_TRIPS,
        SOUND_RANGE_DB,
        calibrate_voice,
        round_trip_voices,
    )
    from voxmorph.voices.store import VoiceStore

    through = round_trip_voices(female_voice)
    store = VoiceStore()
    sims = {n: float(np.asarray(store.get(n).embedding) @ np.asarray(female_voice.embedding))
            for n in store.builtin_names()}
    assert [v.name for v in through] == sorted(sims, key=sims.get)[:ROUND_TRIPS]
    assert "vcc-tf1" not in [v.name for v in round_trip_voices(store.get("vcc-tf1"), 20)]
    calibrated = calibrate_voice(female_voice, [female_wav], models, through=through)
    assert calibrated.adapter.info["through"] == [v.name for v in through]
    # the bias is the mean colour of the recording converted into each voice and back
    x = load_audio(female_wav)
    f0 = torch.from_numpy(mel_frame_f0(HarvestF0(), x))[None]
    n = f0.shape[-1]
    zero = models.zero_shot(female_voice)
    with torch.no_grad():
        content, energy = source_frames(models.content, x, n)
        diffs = []
        for v in through:
            ratio = float(np.exp(v.stats.log_f0_mean - female_voice.stats.log_f0_mean))
            there, _ = models.content(models.decoder.render(
                frame_conditioning(content, f0 * ratio, energy), models.zero_shot(v)))
            back = models.decoder.render(frame_conditioning(there, f0, energy), zero)[0]
            diffs.append(log_mel(x)[:, :n] - back)
    e = energy_db(x)[:n]
    sound = e > e.max() - SOUND_RANGE_DB
    expected = torch.cat([d[:, sound] for d in diffs], 1).mean(1) / MEL_STD
    np.testing.assert_allclose(calibrated.adapter.arrays["mel_bias"], expected.numpy(), atol=1e-4)
    plain = calibrate_voice(female_voice, [female_wav], models)
    assert np.abs(plain.adapter.arrays["mel_bias"] - expected.numpy()).max() > 1e-3  # not a plain rebuild


def test_shipped_converter_vocoder_was_tuned_on_the_shipped_decoder():
    shipped = NeuralModels.load()
    assert shipped.vocoder.meta["card"]["decoder"] == shipped.decoder_id
    copy_synthesis = NeuralVocoder.load()
    assert shipped.vocoder.meta["card"]["steps"] > copy_synthesis.meta["card"]["steps"]


def test_cli_rejects_an_unknown_converter(male_wav, tmp_path):
    out = tmp_path / "o.wav"
    assert_user_error(run("convert", str(male_wav), "--voice", "vcc-sf1", "-o", str(out), "--model", "nope",
                          check=False), "unknown converter")
    # the default converter has no synthesis choice
    assert_user_error(run("convert", str(male_wav), "--voice", "vcc-sf1", "-o", str(out), "--vocoder",
                          "neural", check=False), "--model world")
    assert not out.exists()


@pytest.mark.slow
def test_cli_round_trip_enrol_with_adapt_then_convert_and_live(female_wav, female_wav2, male_wav, tmp_path):
    """The shipped neural models end to end through the real CLI."""
    import json

    import soundfile as sf

    r = run("voice", "add", "me", str(female_wav), str(female_wav2), "--adapt", "--adapt-steps", "4")
    assert "adapted in" in r.stdout, r.stdout
    card = json.loads(run("voice", "show", "me", "--json").stdout)["decoder_fit"]
    assert card["steps"] == 4 and card["cpu_seconds"] > 0
    out = tmp_path / "o.wav"
    r = run("convert", str(male_wav), "--voice", "me", "-o", str(out))  # neural is the default
    assert "neural converter" in r.stdout, r.stdout
    y, sr = sf.read(out)
    assert abs(len(y) / sr - sf.info(male_wav).duration) < 0.01
    assert np.isfinite(y).all() and np.abs(y).max() > 0.01
    live = tmp_path / "live.wav"
    r = run("live", "--voice", "me", "--input", str(male_wav), "--output", str(live))
    z, _ = sf.read(live)
    assert np.isfinite(z).all() and np.sqrt(np.mean(z**2)) > 1e-3
    assert "degraded" in r.stderr and "latency 44.7 ms" in r.stderr  # the neural stream's plan
    assert "look-ahead 24.7" in r.stderr
    live32 = tmp_path / "live32.wav"
    run("live", "--voice", "me", "--input", str(male_wav), "--output", str(live32), "--float32")
    z32, _ = sf.read(live32)
    assert z32.shape == z.shape and not np.array_equal(z32, z)  # int8 by default
    assert np.sqrt(np.mean((z32 - z) ** 2)) < 0.1 * np.sqrt(np.mean(z**2))  # the same speech, nearly


def test_builtin_voices_are_calibrated_to_the_shipped_decoder():
    """After the shipped decoder changes: scripts/make_builtin_voices.py --calibrate-only."""
    from voxmorph.pipeline.neural.calibration import METHOD
    from voxmorph.voices.store import VoiceStore

    shipped = NeuralModels.load()
    store = VoiceStore()
    for name in store.builtin_names():
        voice = store.get(name)
        assert shipped.adapted(voice) is True and voice.adapter.info["method"] == METHOD, name
