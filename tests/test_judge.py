"""The pairs table, summaries and report files of the judge."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from voxmorph.errors import UserError
from voxmorph.eval.judge import Judge, Pair, markdown_table, read_pairs, reference_files, summarise
from voxmorph.eval.report import report_paths, write_report


def test_read_pairs_resolves_relative_paths(tmp_path):
    (tmp_path / "p.tsv").write_text(
        "converted\tsource\ttarget_ref\tparallel_target\tseconds\n"
        "# a comment\n"
        "c.wav\ts.wav\tref/\tt.wav\t1.5\n"
        "c2.wav\ts2.wav\tref.wav\n"
    )
    a, b = read_pairs(tmp_path / "p.tsv")
    assert a == Pair(tmp_path / "c.wav", tmp_path / "s.wav", tmp_path / "ref", tmp_path / "t.wav", 1.5)
    assert b.parallel_target is None and b.seconds is None


@pytest.mark.parametrize("text,needle", [
    ("a.wav\tb.wav\n", "at least"), ("a\tb\tc\td\tfast\n", "not a number"), ("\n# only\n", "no pairs"),
])
def test_read_pairs_errors(tmp_path, text, needle):
    (tmp_path / "p.tsv").write_text(text)
    with pytest.raises(UserError, match=needle):
        read_pairs(tmp_path / "p.tsv")
    with pytest.raises(UserError, match="no such"):
        read_pairs(tmp_path / "missing.tsv")


def test_reference_folder_needs_audio(tmp_path):
    with pytest.raises(UserError, match="no audio"):
        reference_files(tmp_path)


def test_judge_scores_a_file_against_itself(female_wav, female_wav2):
    row = Judge().judge(Pair(female_wav, female_wav, female_wav2, female_wav, 0.6))
    assert row["mcd"] == pytest.approx(0.0, abs=1e-9)
    assert row["f0_rmse_target_cents"] == pytest.approx(0.0, abs=1e-9)
    assert row["f0_corr_source"] == pytest.approx(1.0)
    assert row["cer"] == 0.0 and row["wave_corr"] == pytest.approx(1.0, abs=1e-4)
    assert 0.7 < row["similarity"] < 1.0  # same speaker, another sentence
    assert row["rtf"] == pytest.approx(0.1, rel=0.01)  # 0.6 s for a 6 s file


def test_summary_and_reports(tmp_path):
    rows = [{"similarity": 0.5, "mcd": math.nan}, {"similarity": 0.7, "mcd": 6.0}]
    s = summarise(rows)
    assert s["n"] == 2 and s["similarity"] == pytest.approx(0.6) and s["mcd"] == pytest.approx(6.0)
    assert math.isnan(s["cer"])
    md = markdown_table({"sys": s})
    assert "similarity" in md and "MCD" in md and "CER" not in md
    j, m = write_report(tmp_path / "sub" / "rep.json", {"summary": s}, md)
    assert (j, m) == report_paths(tmp_path / "sub" / "rep")
    assert json.loads(j.read_text())["summary"]["cer"] is None
    assert m.read_text() == md


def test_paired_difference_is_mean_and_standard_error_of_finite_diffs():
    from voxmorph.eval.report import paired_difference

    assert paired_difference([0.1, 0.3, float("nan")]) == "+0.200 ± 0.100"
    assert paired_difference([0.5]) == "–"


def test_a_voice_name_is_a_target_and_the_report_has_a_row_per_file(tmp_path, monkeypatch, female_wav,
                                                                    female_wav2, male_wav):
    from voxmorph.eval.judge import file_table, judge_pairs
    from voxmorph.voices.enrol import enrol_voice
    from voxmorph.voices.store import VoiceStore

    monkeypatch.setenv("VOXMORPH_HOME", str(tmp_path / "home"))
    VoiceStore().save(enrol_voice("alice", [female_wav]))
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(f"{male_wav}\t{male_wav}\talice\n{female_wav2}\t{male_wav}\talice\n")
    table = read_pairs(pairs)
    assert table[0].target_ref == "alice"
    rows = judge_pairs(table)
    same, other = rows
    assert same["similarity"] == pytest.approx(same["similarity_source"])  # not converted: no change
    assert other["similarity"] > other["similarity_source"] + 0.1  # alice's other sentence is nearer her
    md = file_table(rows)
    assert md.count("\n") == 4 and Path(male_wav).name in md
    pairs.write_text(f"{male_wav}\t{male_wav}\tno-such-voice\n")
    with pytest.raises(UserError, match="pairs.tsv:1: target_ref 'no-such-voice'"):
        read_pairs(pairs)
