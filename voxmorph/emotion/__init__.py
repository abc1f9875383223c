"""Emotion: the emotions voxmorph knows, language-independent features of how an utterance is
spoken, and the built-in emotion judge."""
