"""Writing reports: a JSON file for machines and a markdown file for people, both atomically."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from voxmorph.audio.io import atomic_path


def report_paths(out: str | Path) -> tuple[Path, Path]:
    """``REPORT`` (with or without .json/.md) -> ``(REPORT.json, REPORT.md)``."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower() in (".json", ".md") else out
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".md")


def _clean(value):
    """NaN -> None so the JSON is standard."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_report(out: str | Path, data: dict, markdown: str | Callable[[dict], str]) -> tuple[Path, Path]:
    """Write ``data`` as JSON, then ``markdown`` (or what it renders from ``data``) beside it;
    returns both paths. The JSON is on disk first, so a report that fails to render loses no
    figure."""
    json_path, md_path = report_paths(out)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(_clean(data), indent=2, ensure_ascii=False) + "\n")
    text = markdown(data) if callable(markdown) else markdown
    with atomic_path(md_path) as tmp:
        tmp.write_text(text)
    return json_path, md_path


def paired_difference(diffs) -> str:
    """Per-file differences of two systems on the same files as ``mean ± standard error``
    ("–" for fewer than two)."""
    import numpy as np

    d = np.asarray(diffs, float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return "–"
    return f"{d.mean():+.3f} ± {d.std(ddof=1) / np.sqrt(d.size):.3f}"
