"""The WORLD baseline converter: it moves a voice toward its target, and streams."""

from __future__ import annotations

import numpy as np
import pytest

from voxmorph.audio import world
from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.eval.metrics import speaker_similarity
from voxmorph.models.speaker import SpeakerEncoder
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.pipeline.world.offline import WorldConverter
from voxmorph.voices.enrol import enrol_voice
from voxmorph.voices.mapping import MappingOptions


@pytest.fixture(scope="module")
def female_voice(female_wav, female_wav2):
    return enrol_voice("p225", [female_wav, female_wav2])


def _median_f0(x):
    f0 = world.analyse(x).f0
    return float(np.median(f0[f0 > 0]))


def test_male_to_female_moves_pitch_and_identity(female_voice, male_audio):
    y = WorldConverter(female_voice).convert(male_audio)
    assert y.shape == male_audio.shape and np.isfinite(y).all()
    assert np.max(np.abs(y)) <= 1.0
    target_f0 = female_voice.stats.f0_median_hz
    assert abs(np.log(_median_f0(y) / target_f0)) < np.log(2 ** (2 / 12))  # within 2 semitones
    enc = SpeakerEncoder.shared()
    before = speaker_similarity(enc.embed(male_audio), female_voice.embedding)
    after = speaker_similarity(enc.embed(y), female_voice.embedding)
    assert after > before + 0.05


def test_pitch_shift_option(female_voice, male_audio):
    base = _median_f0(WorldConverter(female_voice).convert(male_audio))
    options = ConversionOptions(mapping=MappingOptions(pitch_shift=12))
    up = _median_f0(WorldConverter(female_voice, options).convert(male_audio))
    assert up / base == pytest.approx(2.0, rel=0.08)


def test_block_size_does_not_change_the_output(female_voice, male_audio):
    opts = ConversionOptions(chunk_s=2.0, context_s=0.3, fade_s=0.05, f0_tracker="dio")
    conv = WorldConverter(female_voice, opts)
    whole = conv.convert(male_audio)
    for block in (160, 4000, 50_000):
        conv.reset()
        blocks = [male_audio[i : i + block] for i in range(0, male_audio.size, block)]
        streamed = np.concatenate(list(conv.convert_stream(blocks)))
        np.testing.assert_allclose(streamed, whole, atol=1e-6)


def test_chunked_long_input_has_no_gaps(female_voice, male_audio):
    opts = ConversionOptions(chunk_s=2.0, context_s=0.3, fade_s=0.05, f0_tracker="dio")
    x = np.concatenate([male_audio] * 2)
    y = WorldConverter(female_voice, opts).convert(x)
    assert y.shape == x.shape
    frame = SAMPLE_RATE // 100
    rms_in = np.sqrt(np.mean(x[: x.size // frame * frame].reshape(-1, frame) ** 2, axis=1))
    rms_out = np.sqrt(np.mean(y[: y.size // frame * frame].reshape(-1, frame) ** 2, axis=1))
    loud = rms_in > 0.05 * rms_in.max()
    assert (rms_out[loud] > 0.01 * rms_in.max()).mean() > 0.97  # speech in -> sound out


def test_silence_stays_silent(female_voice):
    y = WorldConverter(female_voice).convert(np.zeros(SAMPLE_RATE, np.float32))
    assert np.max(np.abs(y)) < 1e-3
