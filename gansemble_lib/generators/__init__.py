"""Generators: the shared sampling interface, training loops with exact resume, the MPcGAN
port, the modern cGAN, the spectrum GAN, the class VAEs, and every sample source by name.
Imports only ``core``, ``data`` and ``augment``."""
