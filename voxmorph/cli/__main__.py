"""``python -m voxmorph.cli``: the same as the ``voxmorph`` command."""

from voxmorph.cli import main

main()
