"""Corpus readers: a folder on disk -> a list of :class:`Utterance`.

Each reader knows one common layout and fills in what that layout records: the speaker always,
the transcript and the emotion where the corpus has them. :func:`read_corpus` picks the reader
from the folder's contents (or by name) so ``voxmorph train ... --data DIR`` works on any of them.

Layouts (``DIR`` is the folder passed by the user):

- ``vctk``: ``wav48*/pNNN/pNNN_MMM.{wav,flac}`` or ``pNNN/*.flac``, text in ``txt/pNNN/pNNN_MMM.txt``
- ``librispeech`` (also LibriTTS): ``SPK/CHAPTER/SPK-CHAPTER-UTT.flac`` (or ``SPK/*.flac``), text in
  ``*.trans.txt`` or ``*.normalized.txt``
- ``ljspeech``: ``metadata.csv`` (``id|text|normalised``) and ``wavs/ID.wav`` (any audio suffix)
- ``vcc``: ``SPK/NNNNN.{wav,flac}`` with speaker codes such as SF1 / TM2 (VCC2016, VCC2018)
- ``emodb``: ``wav/03a01Fa.wav``: speaker 03, text a01, emotion letter F
- ``esd``: ``0011/Happy/0011_000721.wav``, text in ``0011/0011.txt``
- ``cremad``: ``AudioWAV/1001_DFA_ANG_XX.wav``
- ``speakers``: any folder of speaker folders (``SPK/**/*.wav``): speaker = folder name
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voxmorph.errors import UserError

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".opus")

EMODB_EMOTIONS = {
    "W": "angry", "L": "bored", "E": "disgusted", "A": "fearful", "F": "happy", "T": "sad", "N": "neutral"
}
CREMAD_EMOTIONS = {
    "ANG": "angry", "DIS": "disgusted", "FEA": "fearful", "HAP": "happy", "NEU": "neutral", "SAD": "sad"
}


@dataclass(frozen=True)
class Utterance:
    """One recording and what the corpus says about it (``None`` where it says nothing)."""

    path: Path
    speaker: str
    corpus: str
    text: str | None = None
    emotion: str | None = None


def path_tail(path: str | Path, parts: int) -> str:
    """The last ``parts`` components of ``path`` (``corpus/speaker/name`` for 3): how a file kept
    in a run folder or a transcript table is recognised wherever the corpora sit."""
    return "/".join(Path(path).parts[-parts:])


def _audio_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def read_speaker_folders(root: Path) -> list[Utterance]:
    """Any folder of speaker folders: each direct sub-folder is one speaker."""
    out = []
    for spk in sorted(p for p in root.iterdir() if p.is_dir()):
        out += [Utterance(f, spk.name, "speakers") for f in _audio_files(spk)]
    return out


def read_vctk(root: Path) -> list[Utterance]:
    texts = {p.stem: p for p in root.rglob("txt/*/*.txt")}
    out = []
    for f in _audio_files(root):
        m = re.match(r"(p\d+|s\d+)_(\d+)", f.stem)
        if m:
            stem = f"{m.group(1)}_{m.group(2)}"
            text = texts[stem].read_text(encoding="utf-8").strip() if stem in texts else None
            out.append(Utterance(f, m.group(1), "vctk", text=text))
    return out


def _libri_texts(root: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for trans in root.rglob("*.trans.txt"):
        for line in trans.read_text(encoding="utf-8").splitlines():
            key, _, text = line.partition(" ")
            texts[key] = text.strip()
    for norm in root.rglob("*.normalized.txt"):  # LibriTTS: one text file per utterance
        texts[norm.name.removesuffix(".normalized.txt")] = norm.read_text(encoding="utf-8").strip()
    return texts


def read_librispeech(root: Path) -> list[Utterance]:
    texts = _libri_texts(root)
    out = []
    for f in _audio_files(root):
        if re.match(r"\d+[-_]\d+[-_]", f.stem):
            out.append(Utterance(f, re.split(r"[-_]", f.stem)[0], "librispeech", text=texts.get(f.stem)))
    return out


def read_ljspeech(root: Path) -> list[Utterance]:
    meta = root / "metadata.csv"
    out = []
    with meta.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter="|", quoting=csv.QUOTE_NONE):
            if not row:
                continue
            text = row[2] if len(row) > 2 and row[2] else row[-1]
            folders = (root / "wavs", root)
            for cand in (folder / f"{row[0]}{ext}" for folder in folders for ext in AUDIO_SUFFIXES):
                if cand.exists():
                    out.append(Utterance(cand, "LJ", "ljspeech", text=text))
                    break
    return out


def read_vcc(root: Path) -> list[Utterance]:
    out = []
    for spk in sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"(VCC2)?[ST][FM]\d", p.name)):
        out += [Utterance(f, spk.name, "vcc") for f in _audio_files(spk)]
    return out


def read_emodb(root: Path) -> list[Utterance]:
    out = []
    for f in _audio_files(root):
        m = re.fullmatch(r"(\d\d)([ab]\d\d)([WLEAFTN])[a-z]", f.stem)
        if m:
            out.append(Utterance(f, f"emodb{m.group(1)}", "emodb", emotion=EMODB_EMOTIONS[m.group(3)]))
    return out


def read_esd(root: Path) -> list[Utterance]:
    texts: dict[str, str] = {}
    for t in root.glob("*/*.txt"):
        for line in t.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                texts[parts[0]] = parts[1].strip()
    out = []
    for f in _audio_files(root):
        if re.fullmatch(r"\d{4}_\d{6}", f.stem):
            out.append(Utterance(f, f.stem[:4], "esd", text=texts.get(f.stem), emotion=f.parent.name.lower()))
    return out


def read_cremad(root: Path) -> list[Utterance]:
    out = []
    for f in _audio_files(root):
        m = re.fullmatch(r"(\d{4})_[A-Z]{3}_([A-Z]{3})_[A-Z]{2}", f.stem)
        if m and m.group(2) in CREMAD_EMOTIONS:
            out.append(Utterance(f, m.group(1), "cremad", emotion=CREMAD_EMOTIONS[m.group(2)]))
    return out


READERS: dict[str, Callable[[Path], list[Utterance]]] = {
    "vctk": read_vctk,
    "librispeech": read_librispeech,
    "ljspeech": read_ljspeech,
    "vcc": read_vcc,
    "emodb": read_emodb,
    "esd": read_esd,
    "cremad": read_cremad,
    "speakers": read_speaker_folders,
}
"""Readers by layout name."""


def detect_layout(root: Path) -> str:
    """Guess a folder's layout from the names it holds (the first match in this order wins)."""
    names = [p.name for p in root.iterdir()]
    if "metadata.csv" in names:
        return "ljspeech"
    files = _audio_files(root)
    if not files:
        raise UserError(f"{root}: no audio files (.wav, .flac, .ogg, .mp3) in this folder")
    stems = [f.stem for f in files[:200]]

    def share(pattern: str) -> float:
        return sum(bool(re.fullmatch(pattern, s)) for s in stems) / len(stems)

    for layout, pattern in (
        ("emodb", r"\d\d[ab]\d\d[WLEAFTN][a-z]"),
        ("cremad", r"\d{4}_[A-Z]{3}_[A-Z]{3}_[A-Z]{2}"),
        ("esd", r"\d{4}_\d{6}"),
        ("vctk", r"[ps]\d+_\d+(_mic\d)?"),
        ("librispeech", r"\d+[-_]\d+[-_]\d+([-_]\d+)*"),
    ):
        if share(pattern) > 0.8:
            return layout
    if any(re.fullmatch(r"(VCC2)?[ST][FM]\d", n) for n in names):
        return "vcc"
    if any(p.is_dir() for p in root.iterdir()):
        return "speakers"
    raise UserError(f"{root}: audio files but no speaker folders; put each speaker's files in a sub-folder")


def read_corpus(root: str | Path, layout: str | None = None) -> list[Utterance]:
    """Every utterance under ``root`` in the given (or detected) layout, sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder")
    layout = layout or detect_layout(root)
    if layout not in READERS:
        raise UserError(f"unknown corpus layout '{layout}'; choose from {', '.join(READERS)}")
    utts = READERS[layout](root)
    if not utts:
        raise UserError(f"{root}: no utterances found in the '{layout}' layout")
    return sorted(utts, key=lambda u: str(u.path))
