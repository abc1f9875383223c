"""The one training loop on the debug vocoder: a real G+D step, falling loss, exact resume, CLI."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
import torch
from safetensors.torch import load_file
from test_cli import assert_user_error, run

from voxmorph.data.cache import FeatureCache
from voxmorph.data.corpora import read_corpus
from voxmorph.models.vocoder import load_vocoder
from voxmorph.train.checkpoint import latest_checkpoint
from voxmorph.train.loop import LoopConfig, train
from voxmorph.train.vocoder import RECIPE_CONFIGS, VocoderRecipe


@pytest.fixture
def corpus(tmp_path, female_wav, female_wav2, male_wav):
    for src, spk in ((female_wav, "p225"), (female_wav2, "p225"), (male_wav, "p226")):
        (tmp_path / "corpus" / spk).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, tmp_path / "corpus" / spk / src.name)
    return tmp_path / "corpus"


def _recipe(corpus, **kw):
    return VocoderRecipe(replace(RECIPE_CONFIGS["debug"], **kw), read_corpus(corpus), FeatureCache())


def _metrics(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return {row["step"]: row for row in map(json.loads, lines)}


def test_one_gan_step_updates_generator_and_discriminators(corpus, tmp_path):
    recipe = _recipe(corpus, gan_start=0)
    torch.manual_seed(0)
    before = {k: {n: p.detach().clone() for n, p in m.named_parameters()} for k, m in recipe.build().items()}
    result = train(recipe, tmp_path / "run", LoopConfig(steps=1, batch_size=4, log_every=1), progress=False)
    row = _metrics(tmp_path / "run")[1]
    for key in ("disc/d_adv", "disc/accuracy", "gen/mel", "gen/stft", "gen/adv", "gen/fm", "gen/grad_norm"):
        assert key in row and row[key] == row[key], key  # present and not NaN
    assert 0.0 <= row["disc/accuracy"] <= 1.0
    after = {"gen": load_file(result.checkpoint / "model.safetensors"),
             "disc": load_file(result.checkpoint / "model_1.safetensors")}
    for k in ("gen", "disc"):
        changed = [n for n, p in before[k].items() if n in after[k] and not torch.equal(p, after[k][n])]
        assert len(changed) > len(before[k]) // 2, k


def test_resume_continues_exactly(corpus, tmp_path):
    loop = LoopConfig(steps=8, batch_size=4, log_every=1, checkpoint_every=4, sample_every=1000)
    train(_recipe(corpus), tmp_path / "straight", loop, progress=False)
    # a run killed at step 6, after its step-4 checkpoint: its last checkpoint never got written
    train(_recipe(corpus), tmp_path / "killed", replace(loop, steps=6), progress=False)
    shutil.rmtree(latest_checkpoint(tmp_path / "killed"))
    train(_recipe(corpus), tmp_path / "killed", loop, resume=True, progress=False)
    a, b = _metrics(tmp_path / "straight"), _metrics(tmp_path / "killed")
    logged = (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(ln)["step"] for ln in logged]
    assert steps == list(range(1, 9))  # what the killed run logged after step 4 was replaced
    for step in range(5, 9):
        for key in ("gen/loss", "disc/loss", "gen/mel"):
            assert a[step][key] == pytest.approx(b[step][key], rel=1e-5, abs=1e-6), (step, key)
    assert a[4]["gen/loss"] != a[5]["gen/loss"]
    with pytest.raises(Exception, match="already holds a run"):
        train(_recipe(corpus), tmp_path / "killed", loop, progress=False)


@pytest.mark.slow
def test_train_vocoder_cli_debug(corpus, tmp_path):
    out = tmp_path / "run"
    run("train", "vocoder", "--data", corpus, "--out", out, "--config", "debug", "--steps", "60",
        "--checkpoint-every", "30", "--sample-every", "60")
    m = _metrics(out)
    steps = sorted(m)
    first, last = m[steps[0]]["gen/mel"], m[steps[-1]]["gen/mel"]
    assert last < 0.9 * first, (first, last)
    assert latest_checkpoint(out).name == "step-00000060"
    model, meta = load_vocoder(out / "model")
    assert meta["card"]["steps"] == 60 and meta["card"]["data"]["vctk_utterances"] == 3
    assert list((out / "samples" / "step-00000060").glob("*.png")) and list(out.glob("logs/events.*"))
    run("train", "vocoder", "--out", out, "--resume", "--steps", "70")
    assert latest_checkpoint(out).name == "step-00000070"
    run("vocode", corpus / "p226" / "p226_003.flac", "-o", tmp_path / "v.wav", "--model", out / "model")
    assert (tmp_path / "v.wav").stat().st_size > 100_000
    proc = run("train", "vocoder", "--out", tmp_path / "new", "--resume", check=False)
    assert_user_error(proc, "no run to resume")
    proc = run("train", "vocoder", "--data", tmp_path / "nope", "--out", tmp_path / "n2", check=False)
    assert_user_error(proc, "no such folder")
    assert_user_error(run("vocode", corpus / "p226" / "p226_003.flac", "-o", tmp_path / "x.wav", "--vocoder",
                          "nope", check=False), "unknown vocoder")
    assert_user_error(run("vocode", corpus / "p226" / "p226_003.flac", "-o", tmp_path / "x.wav", "--vocoder",
                          "world", "--runtime", "onnx", check=False), "--vocoder world has neither")

    # a new run started from the trained model (what a fresh clone does with the shipped weights)
    fine = tmp_path / "fine"
    run("train", "vocoder", "--data", corpus, "--out", fine, "--config", "debug", "--steps", "5",
        "--init", out / "model")
    assert _metrics(fine)[min(_metrics(fine))]["gen/mel"] < 0.8 * first  # it starts trained
    _, meta = load_vocoder(fine / "model")
    assert meta["card"]["started_from"]["steps"] == 70 and meta["card"]["recipe"]["gan_start"] == 0
    proc = run("train", "vocoder", "--out", fine, "--resume", "--init", out / "model", check=False)
    assert_user_error(proc, "--init shapes a new run")
    assert_user_error(run("train", "vocoder", "--data", corpus, "--out", tmp_path / "f2", "--config", "small",
                          "--init", out / "model", check=False), "another configuration")


@pytest.mark.slow
def test_sigterm_stops_after_a_step_with_checkpoint_and_model(corpus, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "voxmorph.cli", "train", "vocoder", "--data", str(corpus), "--out", str(out),
           "--config", "debug", "--steps", "100000", "--checkpoint-every", "10"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.time() + 300
    while latest_checkpoint(out) is None and time.time() < deadline:
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "stopped at step" in err
    step = int(latest_checkpoint(out).name.split("-")[1])
    assert 10 <= step < 100000
    _, meta = load_vocoder(out / "model")
    assert meta["card"]["steps"] == step
    run("train", "vocoder", "--out", out, "--resume", "--steps", str(step + 5))
    assert latest_checkpoint(out).name == f"step-{step + 5:08d}"


def test_loudness_weighted_mel_loss_counts_loud_frames_more():
    from voxmorph.train.losses import mel_l1

    y = torch.randn(1, 16000, generator=torch.Generator().manual_seed(0))
    y[:, :8000] *= 0.01  # a quiet first half, a loud second half
    early, late = y.clone(), y.clone()
    early[:, 2000:6000] *= 1.5  # the same error in log-mel: 0.41 nats on a stretch of quiet frames ...
    late[:, 10000:14000] *= 1.5  # ... or on loud ones
    torch.testing.assert_close(mel_l1(early, y), mel_l1(late, y), rtol=0.02, atol=0.0)
    assert mel_l1(late, y, 0.3) > 5 * mel_l1(early, y, 0.3)
    assert mel_l1(y, y, 0.3) == 0.0


def test_moving_average_of_the_generator_is_exported_and_resumes(corpus, tmp_path):
    loop = LoopConfig(steps=6, batch_size=4, log_every=1, checkpoint_every=3, sample_every=1000)
    straight = train(_recipe(corpus, ema=0.5), tmp_path / "straight", loop, progress=False)
    trained = load_file(straight.checkpoint / "model.safetensors")
    exported, _ = load_vocoder(tmp_path / "straight" / "model")
    name, weight = next((n, p) for n, p in exported.named_parameters() if n.endswith("head.weight"))
    # the export is neither the last weights nor the initial ones: the average of the run
    assert not torch.allclose(weight, trained[name])
    # a run killed after its step-3 checkpoint resumes its average too
    train(_recipe(corpus, ema=0.5), tmp_path / "killed", replace(loop, steps=4), progress=False)
    shutil.rmtree(latest_checkpoint(tmp_path / "killed"))
    train(_recipe(corpus, ema=0.5), tmp_path / "killed", loop, resume=True, progress=False)
    resumed, _ = load_vocoder(tmp_path / "killed" / "model")
    for (n, a), b in zip(exported.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), n
