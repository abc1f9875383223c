"""voxmorph: real-time voice conversion and expressive speech synthesis on a CPU, offline."""

__version__ = "0.1.0"
