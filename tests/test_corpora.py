"""Corpus readers on tiny copies of each layout, the manifest round trip and the feature cache."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from voxmorph.audio.constants import HOP
from voxmorph.data.cache import FeatureCache
from voxmorph.data.corpora import detect_layout, read_corpus
from voxmorph.data.manifest import read_manifest, summary, write_manifest
from voxmorph.errors import UserError


def _put(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)


@pytest.fixture
def layouts(tmp_path, female_wav, male_wav):
    f, m = female_wav, male_wav
    _put(f, tmp_path / "vctk/wav48/p225/p225_003.flac")
    _put(m, tmp_path / "vctk/wav48/p226/p226_003.flac")
    (tmp_path / "vctk/txt/p225").mkdir(parents=True)
    (tmp_path / "vctk/txt/p225/p225_003.txt").write_text("Six spoons of fresh snow peas.\n")
    _put(f, tmp_path / "libri/40/121026/40-121026-0000.flac")
    _put(m, tmp_path / "libri/78/3/78-3-0001.flac")
    (tmp_path / "libri/40/121026/40-121026.trans.txt").write_text("40-121026-0000 HELLO THERE\n")
    _put(f, tmp_path / "lj/wavs/LJ001-0001.wav")
    (tmp_path / "lj/metadata.csv").write_text("LJ001-0001|Printing, 1st sense|Printing, first sense\n")
    _put(f, tmp_path / "vcc/SF1/100001.flac")
    _put(m, tmp_path / "vcc/TM1/100001.flac")
    _put(f, tmp_path / "emodb/wav/03a01Fa.flac")
    _put(m, tmp_path / "emodb/wav/11b02Wb.flac")
    _put(f, tmp_path / "esd/0011/Happy/0011_000721.flac")
    (tmp_path / "esd/0011/0011.txt").write_text("0011_000721\tWhat a nice day.\tHappy\n")
    _put(m, tmp_path / "cremad/AudioWAV/1001_DFA_ANG_XX.flac")
    _put(f, tmp_path / "mine/alice/take1.flac")
    _put(m, tmp_path / "mine/bob/a/take2.flac")
    return tmp_path


def test_each_layout_is_detected_and_read(layouts):
    expected = {
        "vctk": ("vctk", {"p225", "p226"}), "libri": ("librispeech", {"40", "78"}),
        "lj": ("ljspeech", {"LJ"}), "vcc": ("vcc", {"SF1", "TM1"}),
        "emodb": ("emodb", {"emodb03", "emodb11"}),
        "esd": ("esd", {"0011"}), "cremad": ("cremad", {"1001"}), "mine": ("speakers", {"alice", "bob"}),
    }
    for folder, (layout, speakers) in expected.items():
        assert detect_layout(layouts / folder) == layout, folder
        utts = read_corpus(layouts / folder)
        assert {u.speaker for u in utts} == speakers, folder
        assert all(u.path.exists() for u in utts)


def test_labels_are_read(layouts):
    vctk = {u.speaker: u for u in read_corpus(layouts / "vctk")}
    assert vctk["p225"].text == "Six spoons of fresh snow peas." and vctk["p226"].text is None
    assert read_corpus(layouts / "libri")[0].text == "HELLO THERE"
    assert read_corpus(layouts / "lj")[0].text == "Printing, first sense"
    assert {u.emotion for u in read_corpus(layouts / "emodb")} == {"happy", "angry"}
    esd = read_corpus(layouts / "esd")[0]
    assert (esd.emotion, esd.text) == ("happy", "What a nice day.")
    assert read_corpus(layouts / "cremad")[0].emotion == "angry"


def test_bad_folders_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        read_corpus(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no audio files"):
        read_corpus(tmp_path / "empty")
    with pytest.raises(UserError, match="unknown corpus layout"):
        read_corpus(tmp_path / "empty", layout="nope")


def test_manifest_round_trip(layouts, tmp_path):
    utts = read_corpus(layouts / "esd") + read_corpus(layouts / "vctk")
    write_manifest(tmp_path / "m.jsonl", utts)
    back = read_manifest(tmp_path / "m.jsonl")
    assert [(u.speaker, u.text, u.emotion, u.path.name) for u in back] == [
        (u.speaker, u.text, u.emotion, u.path.name) for u in utts
    ]
    assert summary(back) == {"esd_utterances": 1, "esd_speakers": 1, "vctk_utterances": 2, "vctk_speakers": 2}


def test_feature_cache_computes_once(layouts, tmp_path):
    utt = read_corpus(layouts / "vcc")[0]
    cache = FeatureCache(tmp_path / "cache")
    cache.prepare([utt], workers=1, progress=False)
    path = cache.path_for(utt)
    stamp = path.stat().st_mtime_ns
    feats = cache[utt]
    assert feats.audio.dtype == np.int16 and feats.frames == len(feats.audio) // HOP + 1
    voiced = feats.f0[feats.f0 > 0]
    assert 0.3 < len(voiced) / feats.frames < 0.95 and 140 < np.median(voiced) < 280  # p225 is female
    cache.prepare([utt], workers=1, progress=False)
    assert path.stat().st_mtime_ns == stamp


def test_f0_pack_rebuilds_the_cache_without_tracking(layouts, tmp_path, monkeypatch):
    from voxmorph.data import cache as cache_module

    utts = read_corpus(layouts / "vcc")[:2]
    first = FeatureCache(tmp_path / "a")
    first.prepare(utts, workers=1, progress=False)
    pack = tmp_path / "f0.npz"
    first.export_f0(utts, pack)

    def no_tracker(name):
        raise AssertionError("the F0 tracker ran although the pack holds the F0")

    monkeypatch.setattr(cache_module, "get_tracker", no_tracker)
    second = FeatureCache(tmp_path / "b")
    assert second.import_f0(utts, pack, progress=False) == 2
    second.prepare(utts, workers=1, progress=False)  # nothing left to compute
    for u in utts:
        np.testing.assert_array_equal(second[u].f0, first[u].f0)
        np.testing.assert_array_equal(second[u].audio, first[u].audio)
    assert FeatureCache(tmp_path / "c", f0_tracker="dio").import_f0(utts, pack, progress=False) == 0

    moved = tmp_path / "elsewhere" / "vcc"  # the corpus kept at another path on another machine
    shutil.copytree(layouts / "vcc", moved)
    assert FeatureCache(tmp_path / "d").import_f0(read_corpus(moved)[:2], pack, progress=False) == 2
