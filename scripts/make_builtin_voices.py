"""Rebuild the built-in voices shipped in voxmorph/voices/builtin from VCC2016 training speakers.

    python scripts/make_builtin_voices.py ../shared/data/vcc2016_train [--calibrate-only]

Only statistics are stored (F0, formants, mel-cepstrum moments, a speaker embedding) and the
voice's calibration to the shipped neural decoder (a mel bias per band); no audio. After the
shipped decoder changes, ``--calibrate-only`` measures the calibrations again and keeps the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from voxmorph.pipeline.neural.calibration import calibrate_voice
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.voices.enrol import enrol_voice
from voxmorph.voices.store import BUILTIN_DIR
from voxmorph.voices.voice import load_voice, save_voice

N_UTTERANCES = 40
GENDER = {"F": "female", "M": "male"}


def main(corpus: Path, calibrate_only: bool) -> None:
    models = NeuralModels.load()
    for speaker_dir in sorted(p for p in corpus.iterdir() if p.is_dir()):
        spk = speaker_dir.name  # e.g. SF1: source/target role, gender, index
        files = sorted(speaker_dir.glob("*.flac"))[:N_UTTERANCES]
        name = f"vcc-{spk.lower()}"
        if calibrate_only:
            voice = load_voice(BUILTIN_DIR / name)
        else:
            desc = (f"VCC2016 speaker {spk} ({GENDER[spk[1]]}, US English), statistics of "
                    f"{len(files)} utterances; VCC2016 database, ODC Attribution licence")
            voice = enrol_voice(name, files, description=desc)
            voice = dataclasses.replace(voice, info=dataclasses.replace(voice.info, builtin=True))
        voice = calibrate_voice(voice, files, models)
        save_voice(voice, BUILTIN_DIR / name)
        print(f"{name}: {voice.info.speech_seconds:.0f} s speech, F0 {voice.stats.f0_median_hz:.0f} Hz, "
              f"calibrated in {voice.adapter.info['cpu_seconds']:.0f} CPU-s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, nargs="?", default=Path("../shared/data/vcc2016_train"))
    parser.add_argument("--calibrate-only", action="store_true",
                        help="keep the voices' statistics, measure their calibration again")
    args = parser.parse_args()
    main(args.corpus, args.calibrate_only)
