"""Streaming conversion and the live engine: stateful block-in/block-out converters, ring and
jitter buffers, a voice-activity gate, a device/file clock and latency accounting."""
