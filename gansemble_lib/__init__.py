"""GANsemble compendium library: data, polar rendering, augmentation, and the stage logic.

The light, NumPy-only pieces are re-exported here. Modules that import PyTorch
(``classifiers``, ``chooser``) are imported explicitly where needed, so that
``import gansemble_lib`` stays fast for the loaders and the command line. Functions named
like their module (``augment``, ``simulate``, ``preprocess``) are not re-exported: the name
would hide the module.

Importing the package first pins the floating-point path (:mod:`.numerics`) for every
numerical library loaded after it and for every process it starts (stages, fold workers,
notebook kernels); ``GANSEMBLE_NUMERICS=native`` opts out.
"""

from .numerics import pin as _pin

_pin()

from .augment import STRATEGIES, oversample, strategy_name
from .config import load_params
from .dataset import PreparedData, load_prepared
from .errors import DataError, LoadReport
from .images_io import load_image_folder
from .polar import PolarGeometry, decode, render
from .simulate import SimulationConfig
from .spectra_io import load_spectra

__version__ = "0.1.0"

__all__ = [
    "STRATEGIES", "DataError", "LoadReport", "PolarGeometry", "PreparedData",
    "SimulationConfig", "decode", "load_image_folder", "load_params", "load_prepared",
    "load_spectra", "oversample", "render", "strategy_name",
]
