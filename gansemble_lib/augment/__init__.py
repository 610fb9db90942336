"""Augmentation: the chooser's image strategies, label-preserving spectral augmentation and
DiffAugment. Imports only ``core`` and ``data``."""
