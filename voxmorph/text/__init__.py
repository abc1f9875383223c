"""Text: grapheme-to-phoneme conversion and the phone symbol table."""
