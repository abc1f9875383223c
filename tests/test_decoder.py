"""VAE decoder: shapes, causality, streaming == offline, FiLM conditioning, the mel critic, one
GAN/VAE training step through the loop, and the CLI on the debug config."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
from test_cli import assert_user_error, run

from voxmorph.audio.constants import N_MELS
from voxmorph.data.cache import FeatureCache
from voxmorph.data.corpora import read_corpus
from voxmorph.models.content import CONFIGS as CONTENT_CONFIGS
from voxmorph.models.content import ContentEncoder, save_content
from voxmorph.models.decoder import (
    CONFIGS,
    DecoderAdapter,
    MelDecoder,
    frame_conditioning,
    load_decoder,
)
from voxmorph.models.discriminators import MelDiscriminator
from voxmorph.models.speaker import EMBED_DIM
from voxmorph.train.decoder import RECIPE_CONFIGS, DecoderRecipe, reconstruction_inputs
from voxmorph.train.loop import LoopConfig, train


def _inputs(config, t: int = 50, b: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    content = torch.randn(b, config.content_dim, t, generator=g)
    f0 = torch.where(torch.rand(b, t, generator=g) > 0.3, 100 + 100 * torch.rand(b, t, generator=g),
                     torch.zeros(b, t))
    energy = -60 + 40 * torch.rand(b, t, generator=g)
    speaker = torch.nn.functional.normalize(torch.randn(b, EMBED_DIM, generator=g), dim=-1)
    z = torch.randn(b, config.style_dim, generator=g)
    return frame_conditioning(content, f0, energy), speaker, z


def _decoder(lookahead: int = 0) -> MelDecoder:
    torch.manual_seed(0)
    m = MelDecoder(replace(CONFIGS["small"], lookahead=lookahead)).eval()
    with torch.no_grad():  # FiLM starts at identity; give it weights so the test sees conditioning
        for block in m.blocks:
            block.film.weight.normal_(0.0, 0.05)
    return m


@pytest.fixture(scope="module")
def model():
    return _decoder()


@pytest.mark.parametrize("lookahead", [0, 3])
def test_shapes_causality_and_conditioning(lookahead):
    model = _decoder(lookahead)
    cond, speaker, z = _inputs(model.config)
    with torch.no_grad():
        mel = model(cond, speaker, z)
        assert mel.shape == (2, N_MELS, 50)
        later = cond.clone()
        later[..., 30:] += 1.0
        changed = model(later, speaker, z)
        # mel frame t reads conditioning frames <= t + lookahead, and does read them
        torch.testing.assert_close(changed[..., : 30 - lookahead], mel[..., : 30 - lookahead])
        assert (changed[..., 30 - lookahead] - mel[..., 30 - lookahead]).abs().max() > 1e-4
        other = model(cond, speaker.flip(0), z)
    assert (other - mel).abs().mean() > 1e-3  # the voice changes the output


@pytest.mark.parametrize("lookahead", [0, 3])
def test_frame_stream_equals_offline(lookahead):
    """The live form (numpy, frame by frame) gives the offline mel, ``lookahead`` frames late."""
    from voxmorph.models.frame_neural import FrameDecoder

    model = _decoder(lookahead)
    cond, speaker, z = _inputs(model.config, t=60, b=1)
    with torch.no_grad():
        want = model(cond, speaker, z)[0, :, : 60 - lookahead].numpy()
        stream, parts, i = FrameDecoder(model, model.voice(speaker, z)), [], 0
    for k in (1, 2, 5, 1, 51):
        parts.append(stream.process(cond[0, :, i : i + k].numpy()))
        i += k
    got = np.concatenate(parts, axis=1)
    assert got.shape == want.shape  # the look-ahead holds frames back
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


def test_adapter_conditioning_streams_and_starts_at_the_zero_shot_voice(model):
    from voxmorph.models.frame_neural import FrameDecoder

    cond, speaker, z = _inputs(model.config, t=40, b=1)
    with torch.no_grad():
        adapter = DecoderAdapter(model.config, model.voice(speaker, z).u)
        torch.testing.assert_close(model.render(cond, adapter.conditioning()), model(cond, speaker, z))
        adapter.film.normal_(0.0, 0.1)
        adapter.mel_bias.normal_(0.0, 0.1)
        want = model.render(cond, adapter.conditioning())
        assert (want - model(cond, speaker, z)).abs().mean() > 1e-3  # the offsets act
    stream = FrameDecoder(model, adapter.conditioning())
    got = np.concatenate([stream.process(cond[0, :, i : i + 7].numpy()) for i in range(0, 40, 7)], axis=1)
    np.testing.assert_allclose(got, want[0].numpy(), atol=1e-4, rtol=1e-4)


def test_posterior_ignores_frames_outside_the_mask(model):
    mel = torch.randn(1, N_MELS, 40) - 5.0
    mask = torch.zeros(1, 40, dtype=torch.bool)
    mask[:, :25] = True
    padded = mel.clone()
    padded[..., 31:] = 3.0  # past the mask and past the convolutions' reach (3 layers of kernel 5)
    with torch.no_grad():
        (mean_a, var_a), (mean_b, var_b) = model.posterior(mel, mask), model.posterior(padded, mask)
    assert mean_a.shape == (1, model.config.style_dim)
    torch.testing.assert_close(mean_a, mean_b)
    torch.testing.assert_close(var_a, var_b)


def test_mel_discriminator_output_form():
    d = MelDiscriminator(8)
    (logits, fmaps), = d(torch.randn(2, N_MELS, 48) - 5.0)
    assert logits.shape[0] == 2 and len(fmaps) == 5


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, female_wav, female_wav2, male_wav):
    root = tmp_path_factory.mktemp("decoder")
    for src, spk in ((female_wav, "p225"), (female_wav2, "p225"), (male_wav, "p226")):
        (root / "corpus" / spk).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root / "corpus" / spk / src.name)
    torch.manual_seed(0)
    save_content(ContentEncoder(CONTENT_CONFIGS["debug"]), root / "content")
    return root


def test_one_gan_vae_step_updates_decoder_and_critic(corpus, tmp_path):
    content = ContentEncoder(CONTENT_CONFIGS["debug"])
    recipe = DecoderRecipe(RECIPE_CONFIGS["debug"], read_corpus(corpus / "corpus"), FeatureCache(), content)
    torch.manual_seed(0)
    before = {n: p.detach().clone() for n, p in recipe.build()["decoder"].state_dict().items()}
    frozen = {n: p.clone() for n, p in content.state_dict().items()}
    train(recipe, tmp_path / "run", LoopConfig(steps=3, batch_size=2, log_every=1), progress=False)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    last = rows[-1]
    for key in ("gen/mel", "gen/kl", "gen/adv", "gen/fm", "disc/d_adv", "disc/accuracy"):
        assert key in last and last[key] == last[key], key
    model, _ = load_decoder(tmp_path / "run" / "model")
    changed = [n for n, p in model.state_dict().items() if not torch.equal(p, before[n])]
    assert len(changed) > len(before) // 2
    assert all(torch.equal(p, frozen[n]) for n, p in content.state_dict().items())  # content stays frozen


def _debug_step_inputs(corpus, **recipe):
    """A debug decoder recipe with ``recipe`` overrides over the test corpus, its untrained content
    encoder and models, and a batch of 4 segments."""
    from torch.utils.data import default_collate

    content = ContentEncoder(CONTENT_CONFIGS["debug"])
    r = DecoderRecipe(replace(RECIPE_CONFIGS["debug"], **recipe), read_corpus(corpus / "corpus"),
                      FeatureCache(), content)
    models = r.build()
    data = r.dataset()
    return content, r, models, default_collate([data[i] for i in range(4)])


def test_phone_consistency_trains_the_decoder_through_the_frozen_encoder_on_conversions(corpus):
    content, recipe, models, batch = _debug_step_inputs(corpus, consistency=1.0)
    carry: dict = {}
    out = recipe.step("gen", models, batch, carry, step=10)
    assert carry["mel_conv"].shape == carry["mel_hat"].shape
    assert out.losses["consistency"].item() > 0 and out.weights["consistency"] == 1.0
    assert "adv_conv" in out.losses and "fm" in out.losses
    out.total().backward()
    assert models["decoder"].head.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in content.parameters())  # frozen: the gradient only passes through
    # the conversion is the rebuild's content in the next segment's voice: with one speaker in the
    # batch it is that speaker's zero-style rendering, with two it is not
    decoder = models["decoder"]
    one = torch.zeros_like(batch["utterance"])
    _, cond = reconstruction_inputs(content, batch, np.random.default_rng(0), (1.0, 1.0))
    with torch.no_grad():
        own = decoder(cond, recipe._embeddings[one], torch.zeros(4, decoder.config.style_dim))
        torch.testing.assert_close(recipe._convert(decoder, dict(batch, utterance=one), cond), own)
        mixed = torch.tensor([0, 2, 0, 2])  # p225 and p226
        assert recipe._log_f0[0] != recipe._log_f0[2]
        own = decoder(cond, recipe._embeddings[mixed], torch.zeros(4, decoder.config.style_dim))
        assert not torch.allclose(recipe._convert(decoder, dict(batch, utterance=mixed), cond), own)
    # off by default: no conversion, no extra loss
    plain = DecoderRecipe(RECIPE_CONFIGS["debug"], read_corpus(corpus / "corpus"), FeatureCache(), content)
    plain.features()
    carry = {}
    out = plain.step("gen", plain.build(), batch, carry, step=10)
    assert "mel_conv" not in carry and "consistency" not in out.losses


def test_timbre_shift_feeds_the_decoder_content_read_from_its_own_conversion(corpus):
    content, recipe, models, batch = _debug_step_inputs(corpus, shift=1.0)
    batch = dict(batch, utterance=torch.tensor([0, 2, 0, 2]))  # two speakers: every conversion moves
    decoder = models["decoder"]
    _, cond = reconstruction_inputs(content, batch, np.random.default_rng(0), (1.0, 1.0))
    pick = torch.tensor([True, False, True, False])
    shifted = recipe._shifted(decoder, batch, cond, pick)
    with torch.no_grad():
        heard, _ = content(recipe._convert(decoder, batch, cond))
    torch.testing.assert_close(shifted[pick, :-3], heard[pick])  # content from the conversion
    torch.testing.assert_close(shifted[~pick], cond[~pick])  # the others as read
    torch.testing.assert_close(shifted[:, -3:], cond[:, -3:])  # pitch, voicing, energy: the segment's
    assert not torch.allclose(shifted[pick, :-3], cond[pick, :-3])
    # a training step with the shift on still rebuilds the real segment and trains the decoder
    carry: dict = {}
    out = recipe.step("gen", models, batch, carry, step=10)
    assert carry["mel_hat"].shape == carry["mel"].shape and "consistency" not in out.losses
    out.total().backward()
    assert decoder.head.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in content.parameters())


def test_phone_kl_is_zero_for_equal_posteriors_and_positive_otherwise():
    from voxmorph.train.decoder import phone_kl

    a = torch.randn(2, 5, 7)
    assert phone_kl(a, a).abs().item() < 1e-6
    assert phone_kl(a, torch.randn(2, 5, 7)).item() > 0


@pytest.mark.slow
def test_cli_debug_training_lowers_mel_loss(corpus, tmp_path):
    out = tmp_path / "run"
    r = run("train", "decoder", "--data", str(corpus / "corpus"), "--content-model", str(corpus / "content"),
            "--out", str(out), "--config", "debug", "--steps", "60", "--batch-size", "4", "--lookahead", "2",
            "--shift", "0.25", "--lr", "3e-3")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["gen/mel"] < 0.8 * rows[0]["gen/mel"]
    model, meta = load_decoder(out / "model")
    assert meta["card"]["recipe"]["content_model"] == str((corpus / "content").resolve())
    assert model.config.lookahead == 2 and meta["card"]["recipe"]["lookahead"] == 2
    assert meta["card"]["recipe"]["shift"] == 0.25 and meta["card"]["recipe"]["lr"] == 3e-3
    assert_user_error(run("train", "decoder", "--out", str(out), "--resume", "--lr", "1e-4", check=False),
                      "keeps its own")
    assert_user_error(run("train", "decoder", "--out", str(out), "--resume", "--lookahead", "1", check=False),
                      "keeps its own")
    assert_user_error(run("train", "decoder", "--data", str(corpus / "corpus"), "--content-model",
                          str(tmp_path / "nothing"), "--out", str(tmp_path / "x"), check=False),
                      "no trained content encoder")
    vocoder = ("train", "vocoder", "--data", str(corpus / "corpus"), "--out", str(tmp_path / "v"))
    assert_user_error(run(*vocoder, "--decoder-model", str(tmp_path / "nothing"), check=False),
                      "no trained decoder")
    assert_user_error(run(*vocoder, "--content-model", str(corpus / "content"), check=False),
                      "goes with --decoder-model")


def test_adapting_a_voice_fits_its_recordings_and_survives_saving(corpus, female_wav, female_wav2, tmp_path):
    from voxmorph.train.adapter import adapt_voice
    from voxmorph.voices.enrol import enrol_voice
    from voxmorph.voices.voice import load_voice, save_voice

    torch.manual_seed(0)
    content = ContentEncoder(CONTENT_CONFIGS["debug"]).eval()
    decoder = MelDecoder(CONFIGS["debug"]).eval()
    frozen = {n: p.clone() for n, p in decoder.state_dict().items()}
    voice = enrol_voice("p225", [female_wav, female_wav2])
    adapted = adapt_voice(voice, [female_wav, female_wav2], content, decoder, "abc", steps=40, batch_size=4,
                          progress=False)
    info = adapted.adapter.info
    assert info["steps"] == 40 and info["cpu_seconds"] > 0
    assert info["mel_l1_after"] < 0.9 * info["mel_l1_before"]
    assert all(torch.equal(p, frozen[n]) for n, p in decoder.state_dict().items())  # decoder stays frozen
    loaded = load_voice(save_voice(adapted, tmp_path / "p225"))
    assert loaded.adapter.decoder == "abc" and loaded.adapter.info == info
    for k, v in adapted.adapter.arrays.items():
        np.testing.assert_array_equal(loaded.adapter.arrays[k], v)


def test_vocoder_fine_tune_voices_the_decoders_rebuild_of_each_segment(corpus, tmp_path):
    from torch.utils.data import default_collate

    from voxmorph.audio.constants import HOP
    from voxmorph.audio.features import log_mel
    from voxmorph.models.decoder import save_decoder
    from voxmorph.train.vocoder import RECIPE_CONFIGS as VOCODER_CONFIGS
    from voxmorph.train.vocoder import VocoderRecipe

    torch.manual_seed(1)
    save_decoder(MelDecoder(CONFIGS["debug"]), tmp_path / "decoder", {})
    config = replace(VOCODER_CONFIGS["debug"], decoder_model=str(tmp_path / "decoder"),
                     content_model=str(corpus / "content"))
    recipe = VocoderRecipe(config, read_corpus(corpus / "corpus"), FeatureCache())
    data = recipe.dataset()
    batch = default_collate([data[0], data[1]])
    frames = batch["f0"].shape[-1]
    mel = recipe._input_mel(batch)
    for b in range(2):
        u, start, gain = int(batch["utterance"][b]), int(batch["start"][b]), float(batch["gain"][b])
        rebuilt = recipe.rebuilt()[u]
        assert rebuilt.shape == (N_MELS, recipe.features()[u].frames)
        expected = rebuilt[:, start : start + frames] + np.log(gain)
        np.testing.assert_allclose(mel[b].numpy(), expected, rtol=1e-5)
        # the gain moves a real log-mel the same way (above the floor): the two inputs agree in level
        pcm = recipe.features()[u].audio[start * HOP : (start + frames) * HOP].astype(np.float32) / 32768.0
        real, gained = log_mel(pcm)[:, :frames], log_mel(batch["audio"][b])[:, :frames]
        loud = real > real.max() - 6.0
        np.testing.assert_allclose(gained[loud], real[loud] + np.log(gain), atol=1e-3)
        assert not np.allclose(mel[b].numpy(), gained.numpy(), atol=0.5)  # not the real mel
    result = train(recipe, tmp_path / "run", LoopConfig(steps=2, batch_size=2, log_every=1), progress=False)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["gen/mel"] == rows[-1]["gen/mel"] and result.checkpoint is not None
    from voxmorph.models.checkpoint_io import weights_id
    from voxmorph.models.vocoder import load_vocoder

    _, meta = load_vocoder(tmp_path / "run" / "model")
    assert meta["card"]["decoder"] == weights_id(tmp_path / "decoder")


def test_hold_out_leaves_speakers_out_of_new_and_resumed_runs(corpus, tmp_path):
    from voxmorph.data.manifest import read_manifest
    from voxmorph.errors import UserError
    from voxmorph.train.runs import run_training

    data = [corpus / "corpus"]
    corpus_name = read_corpus(corpus / "corpus")[0].corpus
    common = dict(size="debug", batch_size=2, progress=False,
                  overrides={"content_model": str(corpus / "content")})
    run_training("decoder", data, tmp_path / "new", resume=False, steps=1,
                 hold_out=[f"{corpus_name}/p226"], **common)
    assert {u.speaker for u in read_manifest(tmp_path / "new" / "manifest.jsonl")} == {"p225"}
    assert load_decoder(tmp_path / "new" / "model")[1]["card"]["held_out"] == [f"{corpus_name}/p226"]
    with pytest.raises(UserError, match="no such speaker"):
        run_training("decoder", data, tmp_path / "typo", resume=False, steps=1,
                     hold_out=[f"{corpus_name}/p999"], **common)
    with pytest.raises(UserError, match="CORPUS/SPEAKER"):
        run_training("decoder", data, tmp_path / "typo", resume=False, steps=1, hold_out=["p226"], **common)
    # a run that trained on p226 drops it when resumed with --hold-out, and its card says so
    run_training("decoder", data, tmp_path / "seen", resume=False, steps=1, **common)
    assert "p226" in {u.speaker for u in read_manifest(tmp_path / "seen" / "manifest.jsonl")}
    run_training("decoder", [], tmp_path / "seen", resume=True, steps=2, hold_out=[f"{corpus_name}/p226"],
                 **common)
    assert {u.speaker for u in read_manifest(tmp_path / "seen" / "manifest.jsonl")} == {"p225"}
    _, meta = load_decoder(tmp_path / "seen" / "model")
    assert sum(v for k, v in meta["card"]["data"].items() if k.endswith("_speakers")) == 1
    assert meta["card"]["held_out"] == [f"{corpus_name}/p226"]
