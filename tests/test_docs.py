"""The docs hold together: every relative link resolves, and every report kept in docs/bench is
cited by a page (a report nothing cites is run state, not documentation)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _pages() -> list[Path]:
    return [ROOT / "README.md", ROOT / "training" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _links(page: Path) -> list[str]:
    return [t for t in LINK.findall(page.read_text()) if "://" not in t and not t.startswith("mailto:")]


def test_every_relative_link_resolves():
    broken = [f"{p.relative_to(ROOT)} -> {t}" for p in _pages() for t in _links(p)
              if not (p.parent / t).exists()]
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_every_kept_report_is_cited():
    cited = {(p.parent / t).resolve() for p in _pages() for t in _links(p)}
    reports = sorted((ROOT / "docs" / "bench").glob("*.md"))
    assert reports, "docs/bench holds no report"
    uncited = [r.name for r in reports if r.resolve() not in cited]
    assert not uncited, "reports no page cites: " + ", ".join(uncited)
    for data in (ROOT / "docs" / "bench").glob("*.json"):  # a report's data sits beside its page
        assert data.with_suffix(".md").exists() or data.resolve() in cited, data.name
