"""Data: raw files and their loaders, the calibrated simulator, preprocessing, the polar
rendering, splits and units of evaluation, the prepare stage, reading prepared data. Imports
only ``core``."""
