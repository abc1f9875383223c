"""Where voices live: built-in voices inside the package, the user's in a data folder.

The user folder is platformdirs' user data dir (``~/.local/share/voxmorph/voices`` on Linux);
the ``VOXMORPH_HOME`` environment variable moves it (tests use that). A user voice may not take
a built-in voice's name, so a name always means one voice.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from voxmorph.errors import VoiceError
from voxmorph.paths import BUILTIN_VOICES_DIR, user_data_dir
from voxmorph.voices.voice import Voice, check_name, load_voice, save_voice

BUILTIN_DIR = BUILTIN_VOICES_DIR


def user_voice_dir() -> Path:
    return user_data_dir() / "voices"


class VoiceStore:
    """Lists, loads, saves and removes voices by name."""

    def __init__(self, user_dir: Path | None = None, builtin_dir: Path = BUILTIN_DIR):
        self.user_dir = Path(user_dir) if user_dir else user_voice_dir()
        self.builtin_dir = builtin_dir

    @staticmethod
    def _names(folder: Path) -> list[str]:
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def builtin_names(self) -> list[str]:
        return self._names(self.builtin_dir)

    def user_names(self) -> list[str]:
        return self._names(self.user_dir)

    def names(self) -> list[str]:
        return sorted(set(self.builtin_names()) | set(self.user_names()))

    def _folder(self, name: str) -> Path:
        for base in (self.user_dir, self.builtin_dir):
            if (base / name).is_dir():
                return base / name
        known = ", ".join(self.names()) or "none"
        raise VoiceError(f"unknown voice '{name}' (known voices: {known}); "
                         "enrol one with: voxmorph voice add NAME FILE...")

    def get(self, name: str) -> Voice:
        check_name(name)
        return load_voice(self._folder(name))

    def exists(self, name: str) -> bool:
        return name in self.names()

    def save(self, voice: Voice, overwrite: bool = False) -> Path:
        check_name(voice.name)
        if voice.name in self.builtin_names() and not voice.info.builtin:
            raise VoiceError(f"'{voice.name}' is a built-in voice; choose another name")
        if (self.user_dir / voice.name).exists() and not overwrite:
            raise VoiceError(f"voice '{voice.name}' already exists; "
                             "use --force to replace it or pick another name")
        return save_voice(voice, self.user_dir / voice.name)

    def remove(self, name: str) -> None:
        check_name(name)
        if name in self.builtin_names() and name not in self.user_names():
            raise VoiceError(f"'{name}' is a built-in voice and cannot be removed")
        folder = self.user_dir / name
        if not folder.is_dir():
            raise VoiceError(f"unknown voice '{name}'")
        shutil.rmtree(folder)
