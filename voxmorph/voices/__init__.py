"""Voices: a voice's data (embedding, statistics, adapter), its store, enrolment and mapping."""
