"""A manifest: the utterances of a training run, one JSON object per line.

``voxmorph train`` writes the manifest it used into the run folder, so a run records exactly
which files trained it (the model card reads it) and a resumed run reads the same list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from voxmorph.audio.io import atomic_path
from voxmorph.data.corpora import Utterance, read_corpus


def collect(roots: Sequence[str | Path], layout: str | None = None) -> list[Utterance]:
    """Utterances of every corpus folder in ``roots`` (each layout detected unless given)."""
    out: list[Utterance] = []
    for root in roots:
        out += read_corpus(root, layout)
    return out


def write_manifest(path: str | Path, utts: Sequence[Utterance]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for u in utts:
            row = {"path": str(Path(u.path).resolve()), "speaker": u.speaker, "corpus": u.corpus}
            row.update({k: v for k, v in (("text", u.text), ("emotion", u.emotion)) if v is not None})
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_manifest(path: str | Path) -> list[Utterance]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Utterance(Path(row["path"]), row["speaker"], row["corpus"],
                                 text=row.get("text"), emotion=row.get("emotion")))
    return out


def summary(utts: Sequence[Utterance]) -> dict[str, int]:
    """Utterance and speaker counts per corpus, for logs and model cards."""
    out: dict[str, int] = {}
    for corpus in sorted({u.corpus for u in utts}):
        sub = [u for u in utts if u.corpus == corpus]
        out[f"{corpus}_utterances"] = len(sub)
        out[f"{corpus}_speakers"] = len({u.speaker for u in sub})
    return out
