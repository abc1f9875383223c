"""Rebuild the built-in voices shipped in voxmorph/voices/builtin from VCC2016 training speakers.

    python scripts/make_builtin_voices.py ../shared/data/vcc2016_train

Only statistics are stored (F0, formants, mel-cepstrum moments, a speaker embedding); no audio.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from voxmorph.pipeline.enrol import enrol_voice
from voxmorph.pipeline.store import BUILTIN_DIR
from voxmorph.pipeline.voice import save_voice

N_UTTERANCES = 40
GENDER = {"F": "female", "M": "male"}


def main(corpus: Path) -> None:
    for speaker_dir in sorted(p for p in corpus.iterdir() if p.is_dir()):
        spk = speaker_dir.name  # e.g. SF1: source/target role, gender, index
        files = sorted(speaker_dir.glob("*.flac"))[:N_UTTERANCES]
        name = f"vcc-{spk.lower()}"
        desc = (f"VCC2016 speaker {spk} ({GENDER[spk[1]]}, US English), statistics of "
                f"{len(files)} utterances; VCC2016 database, ODC Attribution licence")
        voice = enrol_voice(name, files, description=desc)
        voice = dataclasses.replace(voice, info=dataclasses.replace(voice.info, builtin=True))
        save_voice(voice, BUILTIN_DIR / name)
        print(f"{name}: {voice.info.speech_seconds:.0f} s speech, F0 {voice.stats.f0_median_hz:.0f} Hz")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/vcc2016_train"))
