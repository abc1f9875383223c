"""Training data: corpus readers, manifests, the feature cache and training datasets."""
