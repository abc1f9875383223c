"""Word transcripts for real speech that has none, made by pocketsphinx, kept in a file.

The content encoder learns phones from transcribed speech. The real multi-speaker corpora it
trains on (VCC2016, the LibriSpeech excerpts) come without text, so by default their voices only
reach the speaker adversary, and the phone head learns from synthetic voices alone. A recogniser's
words, rough as they are, give those real voices a phone target too.

For a parallel corpus (VCC: the same file name is the same sentence for every speaker) a
sentence's label is the consensus of its readers: the hypothesis whose phones are closest, in
summed edit distance, to every other reader's, so one misrecognised reading does not become the
label; how far the readers' phones lie from it is kept as the sentence's ``spread``.

File format (TSV, one utterance a line): ``key  text  spread``, the key being the audio path from
the corpus folder's own name on (``vcc2016_train/SF1/100001.flac``), so the file serves on any
machine that holds the corpora; ``spread`` is empty for an utterance with no other reader.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from voxmorph.audio.io import atomic_path
from voxmorph.data.corpora import Utterance, path_tail, read_corpus
from voxmorph.errors import UserError
from voxmorph.text.distance import edit_distance
from voxmorph.text.phonemes import phonemize

PARALLEL_CORPORA = ("vcc",)
"""Corpora whose file names name the sentence across speakers."""


@dataclass(frozen=True)
class Transcript:
    key: str
    text: str
    spread: float | None
    """Mean phone error rate of the sentence's other readings against the chosen one."""


def transcript_key(path: Path, root: Path) -> str:
    root = Path(root).resolve()
    return f"{root.name}/{Path(path).resolve().relative_to(root).as_posix()}"


def consensus(hypotheses: Sequence[str]) -> tuple[int, float | None]:
    """Index of the hypothesis nearest (in phones) to all the others, and the others' mean phone
    error rate against it (None for a single hypothesis)."""
    if len(hypotheses) == 1:
        return 0, None
    phones = phonemize(list(hypotheses))
    costs = [sum(edit_distance(p, q) for q in phones) for p in phones]
    best = min(range(len(phones)), key=lambda i: (costs[i], i))
    chosen = phones[best]
    rates = [edit_distance(q, chosen) / max(1, len(chosen)) for i, q in enumerate(phones) if i != best]
    return best, sum(rates) / len(rates)


Group = list[tuple[Path, str]]
"""The readings of one sentence: ``(audio path, transcript key)`` pairs."""


def sentence_groups(roots: Sequence[Path], layout: str | None = None) -> list[Group]:
    """The utterances without text in the corpus folders ``roots``, grouped by sentence: all
    readings of a parallel corpus's sentence together, any other utterance alone."""
    groups: dict[tuple, Group] = defaultdict(list)
    for root in roots:
        for u in read_corpus(root, layout):
            if not u.text:
                parallel = u.corpus in PARALLEL_CORPORA
                group = (str(root), u.corpus, Path(u.path).stem) if parallel else (str(u.path),)
                groups[group].append((Path(u.path), transcript_key(u.path, root)))
    return list(groups.values())


def transcribe_group(group: Group, recognise: Callable[[Path], str]) -> list[Transcript]:
    """``recognise(path) -> words`` on every reading, each labelled with the readers' consensus;
    readings the recogniser finds no words in are left out."""
    words = [recognise(path) for path, _ in group]
    heard = [i for i, w in enumerate(words) if w.strip()]
    if not heard:
        return []
    best, spread = consensus([words[i] for i in heard])
    return [Transcript(group[i][1], words[heard[best]], spread) for i in heard]


def transcribe_into(
    path: Path, groups: Sequence[Group], recognise: Callable[[Path], str],
    progress: Callable[[int], None] | None = None,
) -> list[Transcript]:
    """Transcribe ``groups`` into the file ``path``: rows go to ``PATH.part`` as each sentence is
    done, a sentence already there is skipped, and the finished file replaces the ``.part``.
    ``progress(n)`` hears of every ``n`` utterances done or skipped. Returns all the rows."""
    path = Path(path)
    part = path.with_name(path.name + ".part")
    rows = {r.key: r for r in read_rows(part)} if part.exists() else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(part, "a", encoding="utf-8") as fh:
        for group in groups:
            if not all(key in rows for _, key in group):
                for row in transcribe_group(group, recognise):
                    rows[row.key] = row
                    fh.write(format_transcript(row))
                fh.flush()
            if progress is not None:
                progress(len(group))
    write_transcripts(path, list(rows.values()))
    part.unlink()
    return list(rows.values())


def format_transcript(row: Transcript) -> str:
    spread = "" if row.spread is None else f"{row.spread:.3f}"
    return f"{row.key}\t{row.text}\t{spread}\n"


def write_transcripts(path: Path, rows: Sequence[Transcript]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.writelines(format_transcript(r) for r in rows)


def read_rows(path: Path) -> list[Transcript]:
    """The rows of a transcript file, in order."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UserError(f"{path}: cannot read transcripts ({e.strerror})") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1].strip():
            raise UserError(f"{path}:{n}: expected 'key<TAB>text[<TAB>spread]'")
        spread = float(parts[2]) if len(parts) > 2 and parts[2].strip() else None
        out.append(Transcript(parts[0], parts[1].strip(), spread))
    return out


def read_transcripts(path: Path) -> dict[str, str]:
    """``key -> text`` from a transcript file (a later line for a key wins)."""
    return {r.key: r.text for r in read_rows(path)}


def with_transcripts(utts: Sequence[Utterance], table: dict[str, str]) -> tuple[list[Utterance], int]:
    """``utts`` with the text of ``table`` filled in where they have none (matched on the key's
    trailing path parts), and how many were filled."""
    depths = sorted({k.count("/") + 1 for k in table})
    out, filled = [], 0
    for u in utts:
        text = None
        if not u.text:
            text = next((table[k] for d in depths if (k := path_tail(u.path, d)) in table), None)
        out.append(replace(u, text=text) if text else u)
        filled += text is not None
    return out, filled
