"""The live neural converter on untrained debug models: its front end equals the offline one,
and block sizes do not change its output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from voxmorph.audio.constants import HOP
from voxmorph.audio.features import energy_db, log_mel
from voxmorph.models.content import CONFIGS as CONTENT_CONFIGS
from voxmorph.models.content import ContentEncoder
from voxmorph.models.decoder import CONFIGS as DECODER_CONFIGS
from voxmorph.models.decoder import MelDecoder
from voxmorph.pipeline.enrol import enrol_voice
from voxmorph.pipeline.neural_converter import NeuralModels
from voxmorph.pipeline.vocoder import NeuralVocoder
from voxmorph.realtime.neural_stream import StreamingNeuralConverter
from voxmorph.realtime.streaming import run_stream
from voxmorph.realtime.yin import yin_f0


@pytest.fixture(scope="module")
def converter(female_wav, female_wav2):
    torch.manual_seed(0)
    models = NeuralModels(ContentEncoder(CONTENT_CONFIGS["debug"]).eval(),
                          MelDecoder(DECODER_CONFIGS["debug"]).eval(), NeuralVocoder.load(), "debug")
    return StreamingNeuralConverter(enrol_voice("p225", [female_wav, female_wav2]), models)


def test_front_end_equals_the_offline_features(converter, male_audio):
    x = male_audio[: 2 * 16000]
    stream = converter.stream()
    frames = np.arange(3, x.size // HOP - 3)  # away from the offline front end's edge padding
    stream._buf, stream._buf_start = np.asarray(x, np.float64), 0
    mel, energy, f0 = stream._analyse(frames)
    np.testing.assert_allclose(mel, log_mel(x)[:, frames].numpy(), atol=2e-3)
    np.testing.assert_allclose(energy, energy_db(x)[frames].numpy(), atol=1e-2)
    want_f0 = yin_f0(x, HOP)  # the same tracker over the whole signal
    stream2 = converter.stream()
    stream2._buf, stream2._buf_start = np.asarray(x, np.float64), 0
    np.testing.assert_allclose(stream2._analyse(np.arange(3, 60))[2][3:], want_f0[6:60], rtol=1e-6)


def test_block_size_does_not_change_the_output(converter, male_audio):
    x = male_audio[: 16000]
    a = run_stream(converter, x, HOP)
    b = run_stream(converter, x, 4 * HOP)
    assert a.shape == x.shape and np.isfinite(a).all() and np.abs(a).max() > 0
    np.testing.assert_allclose(a, b, atol=1e-5)

