"""Inference API: voices, enrolment and converters. No optimisers, losses or discriminators here."""
