"""The speech synthesiser: its training data, the text-to-frames model, one training step, the
`speak` path end to end on a debug model, and bad input through the CLI."""

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from voxmorph.data.cache import FeatureCache
from voxmorph.data.manifest import collect
from voxmorph.data.synthetic import SYNTH_MARK, default_voices, generate
from voxmorph.models.tts import CONFIGS, TextToFrames, length_regulate
from voxmorph.paths import shipped_model
from voxmorph.text.tokens import EDGE, PAUSE, from_words
from voxmorph.train.tts import RECIPE_CONFIGS, TtsRecipe
from voxmorph.train.tts_data import MIN_PAUSE, TtsDataset, TtsItem, collate, durations_from_states


def run(*args, check=True, stdin=None):
    proc = subprocess.run([sys.executable, "-m", "voxmorph.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=600, input=stdin)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_durations_from_an_alignment_path():
    words = [["h", "aɪ"], ["ð", "ɛ", "ɹ"]]
    # states: 0 silence before, 2i+1 phone i, 2i silence before phone i, 10 after the last
    path = [0] * 5 + [1] * 3 + [2] * 2 + [3] * 4 + [4] * MIN_PAUSE + [5] * 3 + [7] * 2 + [9] * 6 + [10] * 7
    phrases, durations = durations_from_states(np.array(path), words)
    assert phrases == [[words[0]], [words[1]]]  # the long silence between the words is a pause
    tok = from_words(phrases)
    assert tok.ids[0] == EDGE and tok.ids[3] == PAUSE and tok.ids[-1] == EDGE
    # the short silence inside the first word goes to its first phone
    assert durations == [5, 3 + 2, 4, MIN_PAUSE, 3, 2, 6, 7]
    assert sum(durations) == len(path)
    short = [0] * 2 + [1] * 3 + [3] * 4 + [4] * 3 + [5] * 3 + [7] * 2 + [9] * 6 + [10] * 1
    phrases, durations = durations_from_states(np.array(short), words)
    assert phrases == [words] and durations == [2, 3, 4 + 3, 3, 2, 6, 1]


def test_length_regulation_repeats_each_token_and_counts_position():
    h = torch.arange(3, dtype=torch.float32)[None, None].expand(1, 2, 3)
    out, pos, mask = length_regulate(h, torch.tensor([[2, 0, 3]]))
    assert out[0, 0].tolist() == [0, 0, 2, 2, 2]
    assert torch.allclose(pos[0, 0], torch.tensor([0, 0.5, 0, 1 / 3, 2 / 3]))
    assert mask.sum() == 5


def test_a_long_utterance_is_cut_at_token_boundaries_between_edges():
    d = np.array([10, 30, 40, 12, 50, 60, 25, 15])
    ids = np.array([EDGE, 5, 6, PAUSE, 7, 8, 9, EDGE])
    frames = np.random.randn(11, d.sum()).astype(np.float32)
    item = TtsItem(ids, np.array([0, 1, 0, 0, 1, 0, 1, 0]), d, frames)
    ds = TtsDataset([item], max_frames=100)
    for i in range(20):
        it = ds[i]
        assert it["tokens"][0] == EDGE and it["tokens"][-1] == EDGE
        assert int(it["durations"].sum()) == it["frames"].shape[1] <= 100 or len(it["tokens"]) == 3


def test_infer_gives_every_phone_a_frame_and_rate_shortens():
    torch.manual_seed(0)
    model = TextToFrames(CONFIGS["debug"]).eval()
    tok = from_words([[["h", "aɪ"]], [["ð", "ɛ", "ɹ"]]])
    ids, ws = torch.tensor([tok.ids]), torch.tensor([tok.word_start])
    with torch.no_grad():  # a model that says "long": every duration is e^3 - 1 frames
        model.duration_out.bias.fill_(3.0)
        model.duration_out.weight.zero_()
    out, d = model.infer(ids, ws, torch.zeros(1, model.config.style_dim))
    assert out.shape == (1, model.config.content_dim + 3, int(d.sum()))
    _, fast = model.infer(ids, ws, torch.zeros(1, model.config.style_dim), rate=2.0)
    assert int(fast.sum()) < int(d.sum()) and bool((fast[0, 1:-1][ids[0, 1:-1] < PAUSE] >= 1).all())


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """Synthetic speech (content only) and a copy that counts as a real recording."""
    root = tmp_path_factory.mktemp("tts_corpora")
    generate(root / "syn", 3, default_voices(n_espeak=2)[3:], progress=False)
    generate(root / "real", 3, default_voices(n_espeak=2, seed=1)[3:], seed=1, progress=False)
    (root / "real" / SYNTH_MARK).unlink()
    return root


def test_one_step_learns_content_from_all_and_prosody_from_real_speech(corpora, tmp_path):
    utts = collect([corpora / "syn", corpora / "real"])
    config = replace(RECIPE_CONFIGS["debug"], content_model=str(shipped_model("content")))
    recipe = TtsRecipe(config, utts, FeatureCache(tmp_path / "cache", f0_tracker="dio"))
    items = recipe.items()
    assert len(items) == len(utts) and {it.real for it in items} == {True, False}
    models = recipe.build()
    batch = collate([recipe.dataset()[i] for i in range(4)])
    out = recipe.step("gen", models, batch, {}, step=5)
    assert set(out.losses) >= {"content", "f0", "duration", "kl", "adv", "fm"} and out.weights["adv"] > 0
    before = {k: v.clone() for k, v in models["tts"].state_dict().items()}
    out.total().backward()
    torch.optim.SGD(models["tts"].parameters(), lr=0.1).step()
    assert any(not torch.equal(before[k], v) for k, v in models["tts"].state_dict().items())
    critic = recipe.step("critic", models, batch, {}, step=5)
    assert 0.0 <= critic.metrics.get("critic_accuracy", 0.5) <= 1.0
    synthetic_only = {k: v for k, v in batch.items()}
    synthetic_only["real"] = torch.zeros_like(batch["real"])
    quiet = recipe.step("gen", models, synthetic_only, {}, step=5)
    assert float(quiet.losses["f0"].detach()) == 0.0 and float(quiet.losses["duration"].detach()) == 0.0
    assert float(quiet.losses["content"].detach()) > 0.0
    idle = recipe.step("critic", models, synthetic_only, {}, step=5)  # nothing real to judge
    idle.total().backward()
    assert float(idle.total().detach()) == 0.0


@pytest.fixture(scope="module")
def debug_model(corpora, tmp_path_factory):
    out = tmp_path_factory.mktemp("tts_run")
    run("train", "tts", "--data", corpora / "syn", "--data", corpora / "real", "--out", out,
        "--config", "debug", "--steps", "4", "--batch-size", "2", "--checkpoint-every", "2")
    assert (out / "model" / "config.json").exists()
    return out / "model"


def test_speak_writes_a_file_stream_equals_whole_and_seed_fixes_the_take(debug_model, tmp_path):
    from voxmorph.pipeline.speak import SpeakOptions, Synthesiser
    from voxmorph.voices.store import VoiceStore

    text = "Hello there, my friend. Is it 7:45 already?"
    run("speak", text, "--voice", "vcc-tm1", "--tts-model", debug_model, "--seed", "3",
        "-o", tmp_path / "a.wav")
    y, sr = sf.read(tmp_path / "a.wav", dtype="float32")
    assert sr == 16000 and y.size > 0.3 * sr and np.abs(y).max() < 0.96
    synth = Synthesiser.load(VoiceStore().get("vcc-tm1"), debug_model, SpeakOptions(seed=3))
    parts = list(synth.stream(text))
    assert len(parts) == 2
    whole = synth.speak(text)
    assert np.array_equal(np.concatenate(parts), whole)
    assert np.allclose(whole, y, atol=1.5 / 32768)  # the CLI's file is the same take, as 16-bit PCM
    other = Synthesiser.load(VoiceStore().get("vcc-tm1"), debug_model, SpeakOptions(seed=4)).speak(text)
    assert other.size != whole.size or not np.allclose(other, whole)


def test_speak_lines_and_stdin(debug_model, tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("First line.\n\n  \nSecond line, with a pause!\n", encoding="utf-8")
    run("speak", "--text-file", lines, "--tts-model", debug_model, "-o", f"{tmp_path / 'out'}/")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0001.wav", "0002.wav"]
    run("speak", "-", "--tts-model", debug_model, "-o", tmp_path / "s.wav", stdin="Read from a pipe.")
    assert sf.info(tmp_path / "s.wav").duration > 0.2


@pytest.mark.parametrize("args, needle", [
    (["", "-o", "x.wav"], "empty"),
    (["?! ... ,,", "-o", "x.wav"], "no words"),
    (["Привет мир", "-o", "x.wav"], "cannot read"),
    (["hello", "--voice", "nobody", "-o", "x.wav"], "unknown voice"),
    (["hello"], "-o FILE"),
    (["hello", "--rate", "9", "-o", "x.wav"], "speaking rate"),
    (["hello", "--emotion", "jolly", "-o", "x.wav"], "unknown emotion"),
    (["hello", "--emotion", "sad", "--intensity", "2", "-o", "x.wav"], "up to 1.5"),
    (["hello", "--intensity", "0.5", "-o", "x.wav"], "goes with --emotion"),
])
def test_bad_input_is_one_line_and_writes_nothing(debug_model, tmp_path, args, needle):
    args = [str(tmp_path / a) if a == "x.wav" else a for a in args]
    proc = run("speak", *args, "--tts-model", debug_model, check=False)
    assert proc.returncode == 1 and needle in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.wav").exists()


def test_a_text_file_that_is_not_utf8_is_refused(debug_model, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    proc = run("speak", "--text-file", bad, "--tts-model", debug_model, "-o", tmp_path / "x.wav", check=False)
    assert proc.returncode == 1 and "not UTF-8" in proc.stderr and not (tmp_path / "x.wav").exists()


def test_the_shipped_synthesiser_speaks_an_enrolled_voice(tmp_path, female_wav, female_wav2):
    """The shipped models from a fresh install: a voice enrolled from two recordings speaks, at a
    plausible length (about 0.3 s per word) and in that voice's pitch range."""
    from voxmorph.audio.f0 import HarvestF0

    run("voice", "add", "alice", female_wav, female_wav2)
    out = tmp_path / "alice.wav"
    run("speak", "The birch canoe slid on the smooth planks.", "--voice", "alice", "--seed", "0", "-o", out)
    y, sr = sf.read(out, dtype="float32")
    assert 1.2 < y.size / sr < 5.0
    f0 = HarvestF0()(y.astype(np.float64), sr, 10.0)
    assert 150 < float(np.median(f0[f0 > 0])) < 320  # a female voice (p225)


def test_speak_with_an_emotion_changes_the_reading_and_intensity_0_does_not(debug_model):
    from voxmorph.pipeline.speak import SpeakOptions, Synthesiser
    from voxmorph.voices.store import VoiceStore

    text = "Nobody told me the train was late."
    voice = VoiceStore().get("vcc-tf1")

    def say(emotion=None, intensity=None):
        return Synthesiser.load(voice, debug_model, SpeakOptions(seed=1, emotion=emotion,
                                                                 intensity=intensity)).speak(text)

    plain = say()
    assert np.array_equal(say("sad", 0.0), plain) and np.array_equal(say("neutral"), plain)
    sad = say("sad", 1.0)
    assert sad.size > 1.3 * plain.size  # the learned sad tempo is slower by half
    assert not np.allclose(say("angry", 1.0)[: plain.size], plain)
