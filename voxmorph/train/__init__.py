"""Training: one loop over Accelerate (:mod:`loop`), checkpoints, logs, and a recipe per model."""
