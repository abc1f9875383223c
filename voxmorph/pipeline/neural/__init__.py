"""The neural converter: its models, offline and streaming forms, and voice calibration."""
