"""The markdown page of ``voxmorph bench live`` (:mod:`voxmorph.eval.bench_live`)."""

from __future__ import annotations


def render_markdown(r: dict, seconds: float) -> str:
    p, lat, rt, mem, q = r["plan"], r["latency"], r["realtime"], r["memory"], r["quality"]
    lines: list[str] = [
        "# voxmorph live benchmark",
        "",
        f"{r.get('converter', 'WORLD')} streaming converter with {r.get('synthesis', 'WORLD')} synthesis, "
        f"default plan ({p['latency_ms']:.1f} ms): "
        f"blocks of {p['block_ms']:.0f} ms, look-ahead {p['lookahead_ms']:.1f} ms, "
        f"{p['jitter_blocks']} jitter block(s). Real speech (VCC2018 SM1, {seconds:.0f} s) through "
        "the engine on the file clock.",
        "",
        "| latency | ms |",
        "|---|---:|",
        f"| algorithmic (block + look-ahead) | {p['algorithmic_ms']:.1f} |",
        f"| planned end to end (+ jitter buffer) | {p['latency_ms']:.1f} |",
        f"| planned, identity converter (no look-ahead) | {r['identity_plan_ms']:.1f} |",
        f"| measured end to end, identity converter | {lat['identity']['end_to_end_ms']:.1f} |",
        f"| measured end to end, {r.get('converter', 'WORLD')} stream | "
        f"{lat.get('converter', lat.get('world'))['end_to_end_ms']:.1f} |",
    ]
    if "browser" in r:
        b = r["browser"]
        lines += [
            f"| measured end to end, live page in Chromium (server, WebSocket, page buffers) | "
            f"{b['end_to_end_ms']:.1f} |",
            "",
            f"The page ({b['seconds']:.0f} s of speech from a fake microphone, the server's default "
            f"converter): its own counter showed {b['page_counter_ms']:.1f} ms; round trip "
            f"{b['rtt_ms']:.1f} ms; playback buffer target {b['buffer_target_ms']:.1f} ms "
            f"(floor {b['buffer_floor_ms']:.1f} ms); "
            f"{b['underruns']} underrun(s); {b['dropped_ms']:.0f} ms of late audio dropped to bring the "
            f"buffer back to its target ({b['cut_in_speech_ms']:.0f} ms of it not in a pause); the "
            f"AudioContext reports {b['device_ms']:.1f} ms of device buffers on top.",
        ]
    lines += [
        "",
        "| paced in real time | worker priority | compute RTF mean | RTF p99 | RTF max "
        "| start delay p99 (ms) | max (ms) | degraded blocks | per minute | resyncs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in rt.items():
        prio = "real-time" if s["realtime_priority"] else "normal"
        lines.append(f"| {name} | {prio} | {s['rtf_mean']:.3f} | {s['rtf_p99']:.3f} | {s['rtf_max']:.3f} | "
                     f"{s['start_p99_ms']:.1f} | {s['start_max_ms']:.1f} | {s['degraded']} | "
                     f"{s['degraded_per_min']:.2f} | {s['resyncs']} |")
    rss = mem["rss_mb"] or [float("nan")]
    lines += [
        "",
        f"Memory over a {mem['minutes']:g}-minute stream: {rss[min(1, len(rss) - 1)]:.0f} MB after "
        f"minute 1 (or the end), {rss[-1]:.0f} MB at the end (growth: {mem['growth_mb']:+.1f} MB; "
        f"min {min(rss):.0f}, max {max(rss):.0f}).",
        "",
        "| VCC2018, 4 pairs x 25 held-out sentences | similarity to target | MCD vs target (dB) |",
        "|---|---:|---:|",
        f"| offline `convert` | {q['offline']['similarity']:.3f} | {q['offline']['mcd']:.2f} |",
        f"| streamed (`live`, file clock) | {q['streamed']['similarity']:.3f} | {q['streamed']['mcd']:.2f} |",
        f"| streamed - offline | {q['difference']['similarity']:+.3f} | {q['difference']['mcd']:+.2f} |",
        "",
        *_reference(r),
        f"Benchmark time {r['bench_seconds'] / 60:.1f} min.",
        "",
    ]
    return "\n".join(lines)


def _reference(r: dict) -> list[str]:
    """This stream against the reference stream of the same run (the neural converter only)."""
    if "reference" not in r:
        return []
    ref, q, alone = r["reference"], r["quality"], r["realtime"]["alone"]
    qr, lat = q["reference streamed"], r["latency"]["converter"]
    return [
        "Against the reference stream in the same run (the exact look-ahead of the offline front "
        f"end, float32 networks, {ref['latency_ms']:.0f} ms plan):",
        "",
        "| | this stream | reference | difference |",
        "|---|---:|---:|---:|",
        f"| planned end to end (ms) | {r['plan']['latency_ms']:.1f} | {ref['latency_ms']:.1f} | "
        f"{r['plan']['latency_ms'] - ref['latency_ms']:+.1f} |",
        f"| measured end to end (ms) | {lat['end_to_end_ms']:.1f} | {ref['latency']['end_to_end_ms']:.1f} | "
        f"{lat['end_to_end_ms'] - ref['latency']['end_to_end_ms']:+.1f} |",
        f"| compute RTF mean, alone | {alone['rtf_mean']:.3f} | {ref['alone']['rtf_mean']:.3f} | "
        f"x{alone['rtf_mean'] / ref['alone']['rtf_mean']:.2f} |",
        f"| RTF p99, alone | {alone['rtf_p99']:.3f} | {ref['alone']['rtf_p99']:.3f} | "
        f"x{alone['rtf_p99'] / ref['alone']['rtf_p99']:.2f} |",
        f"| streamed similarity to target | {q['streamed']['similarity']:.3f} | {qr['similarity']:.3f} | "
        f"{q['vs reference']['similarity']:+.3f} |",
        f"| streamed MCD vs target (dB) | {q['streamed']['mcd']:.2f} | {qr['mcd']:.2f} | "
        f"{q['vs reference']['mcd']:+.2f} |",
        "",
    ]
