"""The WORLD baseline converter: offline and streaming forms and their synthesisers."""
