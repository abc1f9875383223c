"""The judge: objective metrics, the pairs report and benchmarks on real recordings."""
