"""``voxmorph bench serve`` end to end on a short run, and ``bench fuzz`` on a tiny budget: a real
server process, live streams beyond its admission, HTTP clients; the report holds what happened."""

from __future__ import annotations

import json

import pytest
from test_cli import assert_user_error, run

from voxmorph.eval.bench_serve import run_bench_serve


@pytest.mark.slow
def test_bench_serve_loads_a_real_server_and_reports(male_wav, tmp_path):
    out = tmp_path / "serve"
    md = run_bench_serve(male_wav, out, seconds=8, clients=2, model="world", baseline_seconds=2)
    data = json.loads(out.with_suffix(".json").read_text())
    capacity = data["status_start"]["live"]["capacity"]
    live = data["live"]
    assert len(live) == max(2 * capacity, 1)
    admitted = [s for s in live if s["admitted"]]
    assert len(admitted) == capacity and all(not s["dropped"] and s["blocks"] == 800 for s in admitted)
    refused = [s for s in live if not s["admitted"]]
    assert all(s["code"] == 4429 and "in use" in s["message"] for s in refused)
    assert all(h["errors"] == 0 for h in data["http"].values())
    assert sum(h["ok"] for h in data["http"].values()) >= 2
    assert len(data["memory"]) >= 5 and out.with_suffix(".memory.png").exists()
    assert [s["blocks"] for s in data["live_alone"]] == [200] * capacity
    assert "| admitted, under load |" in md and "| alone first" in md and "Memory" in md


def test_bench_serve_and_fuzz_refuse_bad_options(tmp_path):
    assert_user_error(run("bench", "serve", "--data", tmp_path, check=False), "no VCC2SM1")
    assert_user_error(run("bench", "fuzz", "--examples", "0", "--out", tmp_path / "f", check=False),
                      "--examples")


@pytest.mark.slow
def test_bench_fuzz_writes_a_report(tmp_path):
    out = tmp_path / "fuzz"
    proc = run("bench", "fuzz", "--examples", "20", "--out", out)
    data = json.loads(out.with_suffix(".json").read_text())
    assert [t["target"] for t in data["targets"]] == ["audio decoder", "voice loader", "HTTP API"]
    assert all(t["failure"] is None for t in data["targets"]) and data["targets"][0]["cases"] == 20
    assert "POST /api/convert" in data["targets"][2]["operations"]
    assert "| API POST /api/speak |" in proc.stdout
