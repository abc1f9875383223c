"""Pseudo-transcripts of untranscribed real corpora: readers' consensus, the file, and the CLI
into a content training run."""

from __future__ import annotations

import json
import subprocess

import pytest
from test_cli import assert_user_error, run

from voxmorph.data.corpora import Utterance, read_corpus
from voxmorph.data.manifest import read_manifest
from voxmorph.data.transcripts import (
    Transcript,
    consensus,
    read_transcripts,
    sentence_groups,
    transcribe_group,
    transcribe_into,
    with_transcripts,
    write_transcripts,
)


def test_consensus_picks_the_reading_nearest_to_the_others():
    readings = ["they came in waves", "they came and went", "they came and went", "the cayman what"]
    best, spread = consensus(readings)
    assert readings[best] == "they came and went"
    assert 0.0 < spread < 1.0
    assert consensus(["alone"]) == (0, None)


@pytest.fixture(scope="module")
def vcc(tmp_path_factory):
    """A parallel corpus in VCC layout: sentence 100001 read by two espeak-ng voices, 100002 by one."""
    root = tmp_path_factory.mktemp("vcc") / "vcc2016_train"
    same = "the berry patches were full"
    lines = {("SF1", "100001"): same, ("TM1", "100001"): same, ("SF1", "100002"): "they came and went"}
    for (spk, stem), text in lines.items():
        (root / spk).mkdir(parents=True, exist_ok=True)
        voice = "en-us+f3" if spk.startswith("SF") else "en-us+m3"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(root / spk / f"{stem}.wav"), text], check=True)
    return root


def test_parallel_readings_share_one_label_and_the_file_round_trips(vcc, tmp_path):
    heard = {"SF1/100001.wav": "the berry patches were full", "TM1/100001.wav": "the very patch is were fool",
             "SF1/100002.wav": "they came and went"}
    seen = []

    def recognise(path):
        seen.append(path)
        return heard[f"{path.parent.name}/{path.name}"]

    groups = sentence_groups([vcc])
    assert sorted(map(len, groups)) == [1, 2]
    rows = [r for g in groups for r in transcribe_group(g, recognise)]
    assert len(seen) == 3
    by_key = {r.key: r for r in rows}
    assert set(by_key) == {"vcc2016_train/SF1/100001.wav", "vcc2016_train/TM1/100001.wav",
                           "vcc2016_train/SF1/100002.wav"}
    # both readings of 100001 carry the same label, with the readers' spread; 100002 had one reader
    first = {by_key[f"vcc2016_train/{s}/100001.wav"].text for s in ("SF1", "TM1")}
    assert len(first) == 1 and first.pop() in heard.values()
    assert by_key["vcc2016_train/SF1/100001.wav"].spread > 0
    assert by_key["vcc2016_train/SF1/100002.wav"].spread is None

    path = tmp_path / "t.tsv"
    write_transcripts(path, rows + [Transcript("other/x.wav", "unrelated", None)])
    table = read_transcripts(path)
    utts, filled = with_transcripts(read_corpus(vcc), table)
    assert filled == 3 and all(u.text == table[f"vcc2016_train/{u.speaker}/{u.path.name}"] for u in utts)
    # an utterance that already has a text keeps it
    kept, n = with_transcripts([Utterance(utts[0].path, "SF1", "vcc", text="own words")], table)
    assert n == 0 and kept[0].text == "own words"


def test_an_interrupted_transcription_continues_from_its_part_file(vcc, tmp_path):
    seen = []

    def recognise(path):
        seen.append(path)
        return f"words of {path.stem}"

    groups = sentence_groups([vcc])
    pair = next(g for g in groups if len(g) == 2)
    out = tmp_path / "sub" / "t.tsv"
    part = out.with_name("t.tsv.part")
    part.parent.mkdir()
    # a run stopped after the two-reader sentence: its rows are in the .part file
    part.write_text("".join(f"{key}\tkept words\t0.100\n" for _, key in pair))
    counted = []
    rows = transcribe_into(out, groups, recognise, progress=counted.append)
    assert len(seen) == 1 and sum(counted) == 3  # only the missing sentence was recognised
    assert not part.exists() and {r.key: r.text for r in rows} == read_transcripts(out)
    assert [read_transcripts(out)[key] for _, key in pair] == ["kept words", "kept words"]


def test_bad_transcript_files_are_user_errors(tmp_path):
    from voxmorph.errors import UserError

    (tmp_path / "bad.tsv").write_text("no tab here\n")
    with pytest.raises(UserError, match="expected"):
        read_transcripts(tmp_path / "bad.tsv")
    with pytest.raises(UserError, match="cannot read"):
        read_transcripts(tmp_path / "missing.tsv")


@pytest.mark.slow
def test_cli_transcribes_a_corpus_and_a_content_run_trains_on_it(vcc, tmp_path):
    out = tmp_path / "t.tsv"
    r = run("data", "transcribe", "--data", vcc, "--out", out)
    table = read_transcripts(out)
    assert f"{len(table)} of 3 utterances transcribed" in r.stdout
    assert not out.with_name("t.tsv.part").exists()
    assert table and all(k.startswith("vcc2016_train/") for k in table)
    if {"vcc2016_train/SF1/100001.wav", "vcc2016_train/TM1/100001.wav"} <= set(table):
        assert table["vcc2016_train/SF1/100001.wav"] == table["vcc2016_train/TM1/100001.wav"]
    run_dir = tmp_path / "run"
    run("train", "content", "--data", vcc, "--out", run_dir, "--config", "debug", "--steps", "4",
        "--batch-size", "2", "--transcripts", out)
    manifest = read_manifest(run_dir / "manifest.jsonl")
    assert sum(1 for u in manifest if u.text) == len(table)
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert "main/ctc" in rows[-1]  # the pseudo-labelled real voices reached the phone loss
    (tmp_path / "none.tsv").write_text("elsewhere/a.wav\tsome words\t\n")
    proc = run("train", "content", "--out", run_dir, "--resume", "--steps", "6", "--transcripts",
               tmp_path / "none.tsv", check=False)
    assert_user_error(proc, "gives no text")
