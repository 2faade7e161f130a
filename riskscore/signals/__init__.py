"""Signals: pure functions of (attempt observation, profile snapshot, settings).

Each returns named numeric features, readable reasons with evidence, and a
log likelihood-ratio factor that the statistical scorer multiplies into the
Freeman risk (a naive-Bayes combination: no labels needed). The feature table
in ``registry.py`` documents every feature; the README repeats it.
"""
