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
from voxmorph.data.corpora import Utterance, read_corpus
from voxmorph.errors import UserError
from voxmorph.eval.metrics import edit_distance
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
    return f"{Path(root).resolve().name}/{Path(path).resolve().relative_to(Path(root).resolve()).as_posix()}"


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


def pseudo_transcribe(
    roots: Sequence[Path], recognise: Callable[[Path], str], layout: str | None = None,
    progress: Callable[[], None] | None = None,
) -> list[Transcript]:
    """Transcripts of every utterance without text in the corpus folders ``roots``;
    ``recognise(path) -> words``. Utterances the recogniser finds no words in are left out."""
    groups: dict[tuple, list[tuple[Utterance, Path]]] = defaultdict(list)
    for root in roots:
        for u in read_corpus(root, layout):
            if u.text:
                continue
            parallel = u.corpus in PARALLEL_CORPORA
            group = (str(root), u.corpus, Path(u.path).stem) if parallel else (str(u.path),)
            groups[group].append((u, Path(root)))
    out = []
    for members in groups.values():
        words = []
        for u, _ in members:
            words.append(recognise(Path(u.path)))
            if progress is not None:
                progress()
        heard = [i for i, w in enumerate(words) if w.strip()]
        if not heard:
            continue
        best, spread = consensus([words[i] for i in heard])
        text = words[heard[best]]
        out += [Transcript(transcript_key(members[i][0].path, members[i][1]), text, spread) for i in heard]
    return out


def write_transcripts(path: Path, rows: Sequence[Transcript]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for r in rows:
            spread = "" if r.spread is None else f"{r.spread:.3f}"
            fh.write(f"{r.key}\t{r.text}\t{spread}\n")


def read_transcripts(path: Path) -> dict[str, str]:
    """``key -> text`` from a transcript file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UserError(f"{path}: cannot read transcripts ({e.strerror})") from None
    out = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1].strip():
            raise UserError(f"{path}:{n}: expected 'key<TAB>text[<TAB>spread]'")
        out[parts[0]] = parts[1].strip()
    return out


def with_transcripts(utts: Sequence[Utterance], table: dict[str, str]) -> tuple[list[Utterance], int]:
    """``utts`` with the text of ``table`` filled in where they have none (matched on the key's
    trailing path parts), and how many were filled."""
    depths = sorted({k.count("/") + 1 for k in table})
    out, filled = [], 0
    for u in utts:
        text = None
        if not u.text:
            parts = Path(u.path).parts
            text = next((table[k] for d in depths if (k := "/".join(parts[-d:])) in table), None)
        out.append(replace(u, text=text) if text else u)
        filled += text is not None
    return out, filled
