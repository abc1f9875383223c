"""Vocoder benchmark helpers: the scores of a perfect copy, summaries and the report table."""

from __future__ import annotations

import numpy as np

from voxmorph.audio.io import load_audio
from voxmorph.eval import metrics
from voxmorph.eval.bench_vocoder import render_markdown, score, summarise


def test_a_perfect_copy_scores_perfectly_and_noise_does_not(female_wav):
    x = load_audio(female_wav)
    ref = metrics.Analysis(x)
    same = score(x, x.copy(), ref)
    assert same["pesq"] > 4.4 and same["stoi"] > 0.99 and same["mcd"] < 0.01 and same["f0_gross"] == 0.0
    noisy = score(x, x + 0.05 * np.random.default_rng(0).standard_normal(x.size).astype(np.float32), ref)
    assert noisy["pesq"] < same["pesq"] - 1.0 and noisy["mcd"] > 1.0 and noisy["ovrl"] < same["ovrl"]


def test_summary_and_markdown():
    systems = (("neural", 3.0), ("neural", 2.0), ("world", 2.5))
    rows = [{"set": "vctk", "system": s, "pesq": p, "ovrl": 3.0} for s, p in systems]
    rows.append({"set": "vctk", "system": "recording", "ovrl": 3.5})
    summ = summarise(rows)
    assert summ["vctk"]["neural"]["pesq"] == 2.5 and summ["all"]["world"]["n"] == 1
    assert "pesq" not in summ["vctk"]["recording"]
    speed = {"seconds": 30.0, "neural_torch_2t": 300.0, "neural_torch_1t": 200.0, "world_synthesis": 100.0,
             "harvest_analysis": 30.0}
    md = render_markdown(summ, speed, {"steps": 10, "cpu_hours": 0.1}, 1.0)
    assert "| neural | 2 | 2.500 |" in md and "| neural (torch) | 300 | 200 | 3.00 |" in md
    assert "Whole copy-synthesis path" not in md  # a report from before the path was timed
    md = render_markdown(summ, {**speed, "neural_vocode": 6.0, "world_vocode": 4.0}, {"steps": 10}, 1.0)
    assert "neural 6.0x real time, WORLD 4.0x; neural / WORLD speed 1.50" in md
