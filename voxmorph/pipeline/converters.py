"""Converters by name, offline and streaming: what ``--model`` and ``--vocoder`` choose.

``neural`` (the CLI's default): content encoder + VAE decoder + neural vocoder (the vocoder choice
does not apply). ``world``: the no-training baseline (WORLD analysis, voice mapping, WORLD or
neural-vocoder synthesis). Models load from the package's weights; nothing is fetched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxmorph.errors import UserError
from voxmorph.pipeline.voice import Voice
from voxmorph.pipeline.voice_mapping import MappingOptions

if TYPE_CHECKING:
    from voxmorph.pipeline.neural_converter import NeuralModels

MODELS = ("world", "neural")
VOCODERS = ("world", "neural")


def _check(model: str, vocoder: str) -> None:
    if model not in MODELS:
        raise UserError(f"unknown converter '{model}'; choose {' or '.join(MODELS)}")
    if vocoder not in VOCODERS:
        raise UserError(f"unknown vocoder '{vocoder}'; choose {' or '.join(VOCODERS)}")


def offline_converter(model: str, target: Voice, vocoder: str = "world", f0: str = "harvest",
                      denoise: bool = False, mapping: MappingOptions | None = None):
    """A converter for files (``convert(x)``, ``reset()``)."""
    _check(model, vocoder)
    mapping = mapping or MappingOptions()
    if model == "neural":
        from voxmorph.pipeline.neural_converter import NeuralConverter, NeuralConverterOptions, NeuralModels

        options = NeuralConverterOptions(mapping, f0_tracker=f0, denoise=denoise)
        return NeuralConverter(target, NeuralModels.load(), options)
    from voxmorph.pipeline.world_converter import WorldConverter, WorldConverterOptions

    options = WorldConverterOptions(mapping, f0_tracker=f0, denoise=denoise)
    if vocoder == "neural":
        from voxmorph.pipeline.vocoder import NeuralVocoder

        return WorldConverter(target, options, synthesise=NeuralVocoder.load().synthesise_world)
    return WorldConverter(target, options)


def streaming_converter(model: str, target: Voice, source: Voice | None = None, vocoder: str = "world",
                        models: NeuralModels | None = None):
    """A :class:`~voxmorph.realtime.streaming.StreamingConverter` for the live engine; ``models``:
    already loaded :class:`NeuralModels` to share between voices (default: the shipped ones)."""
    _check(model, vocoder)
    if model == "neural" or vocoder == "neural":
        import torch

        # one 10 ms frame per call: tensors that small only pay for a second intra-op thread's
        # synchronisation (measured: compute RTF 1.1 with one thread, 4.8 with two)
        torch.set_num_threads(1)
    if model == "neural":
        from voxmorph.pipeline.neural_converter import NeuralModels
        from voxmorph.realtime.neural_stream import StreamingNeuralConverter

        return StreamingNeuralConverter(target, models or NeuralModels.load(), source)
    from voxmorph.realtime.world_stream import StreamingWorldConverter

    if vocoder == "neural":
        from voxmorph.pipeline.vocoder import NeuralVocoder

        return StreamingWorldConverter(target, source, vocoder=NeuralVocoder.load().model)
    return StreamingWorldConverter(target, source)
