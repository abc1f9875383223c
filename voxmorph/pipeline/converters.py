"""Converters by name, offline and streaming: what ``--model`` and ``--vocoder`` choose.

``neural`` (the CLI's default): content encoder + VAE decoder + neural vocoder (the vocoder choice
does not apply). ``world``: the no-training baseline (WORLD analysis, voice mapping, WORLD or
neural-vocoder synthesis). Models load from the package's weights; nothing is fetched.

Streaming converters run one 10 ms frame per call; tensors that small only pay for a second
intra-op thread's synchronisation (measured: compute RTF 1.1 with one thread, 4.8 with two), so
the entry points that stream (``live``, ``serve``, ``bench live``) call
:func:`for_streaming` once before building one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voxmorph.errors import UserError
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.voices.mapping import MappingOptions
from voxmorph.voices.voice import Voice

if TYPE_CHECKING:
    from voxmorph.models.frame_net import NetForm
    from voxmorph.pipeline.neural.models import NeuralModels

MODELS = ("world", "neural")
VOCODERS = ("world", "neural")


def check_choice(model: str, vocoder: str) -> None:
    """A one-line error unless ``model`` and ``vocoder`` name a converter and a synthesis that combine."""
    if model not in MODELS:
        raise UserError(f"unknown converter '{model}'; choose {' or '.join(MODELS)}")
    if vocoder not in VOCODERS:
        raise UserError(f"unknown vocoder '{vocoder}'; choose {' or '.join(VOCODERS)}")


def for_streaming() -> None:
    """Set this process up for frame-sized calls: one torch thread (see the module doc)."""
    import torch

    torch.set_num_threads(1)


def offline_converter(model: str, target: Voice, vocoder: str = "world", f0: str = "harvest",
                      denoise: bool = False, mapping: MappingOptions | None = None,
                      emotion: str | None = None, intensity: float | None = None,
                      keep_emotion: bool = False, learned_prosody: bool = False,
                      models: NeuralModels | None = None):
    """A converter for files (``convert(x)``, ``convert_stream(blocks)``, ``reset()``); with
    ``emotion``, the neural one re-emotes the speech at ``intensity`` (default 1); with
    ``keep_emotion``, it keeps the source's pitch level against its speaker's predicted neutral;
    ``learned_prosody``: the emotion's contours from the learned prosody model; ``models``: already
    loaded :class:`NeuralModels` (default: the shipped ones, loaded now)."""
    check_choice(model, vocoder)
    options = ConversionOptions(mapping or MappingOptions(), f0_tracker=f0, denoise=denoise,
                                keep_emotion=keep_emotion)
    if emotion is not None and model != "neural":
        raise UserError("--emotion needs the neural converter (--model neural)")
    if model == "neural":
        from voxmorph.emotion.style import Expression
        from voxmorph.pipeline.neural.models import NeuralModels
        from voxmorph.pipeline.neural.offline import NeuralConverter

        expression = Expression.of(emotion, intensity, learned=learned_prosody)
        return NeuralConverter(target, models or NeuralModels.load(), options, expression)
    from voxmorph.pipeline.world.offline import WorldConverter

    if vocoder == "neural":
        from voxmorph.pipeline.vocoder import NeuralVocoder

        return WorldConverter(target, options, synthesise=NeuralVocoder.load().synthesise_world)
    return WorldConverter(target, options)


def streaming_converter(model: str, target: Voice, source: Voice | None = None, vocoder: str = "world",
                        models: NeuralModels | None = None, form: NetForm | None = None):
    """A :class:`~voxmorph.pipeline.streaming.StreamingConverter` for the live engine; ``models``:
    already loaded :class:`NeuralModels` to share between voices (default: the shipped ones);
    ``form``: how the neural converter's networks run (default: the stream's own,
    :data:`~voxmorph.pipeline.neural.stream.LIVE_FORM`)."""
    check_choice(model, vocoder)
    if model == "neural":
        from voxmorph.pipeline.neural.models import NeuralModels
        from voxmorph.pipeline.neural.stream import StreamingNeuralConverter, StreamingNeuralOptions

        options = StreamingNeuralOptions() if form is None else StreamingNeuralOptions(form=form)
        return StreamingNeuralConverter(target, models or NeuralModels.load(), source, options)
    from voxmorph.pipeline.world.stream import StreamingWorldConverter

    if vocoder == "neural":
        from voxmorph.pipeline.vocoder import NeuralVocoder

        return StreamingWorldConverter(target, source, vocoder=NeuralVocoder.load().model)
    return StreamingWorldConverter(target, source)
