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

from .core.numerics import pin as _pin

_pin()

from .augment.images import STRATEGIES, oversample, strategy_name
from .core.errors import DataError, LoadReport
from .core.params_io import load_params
from .data.dataset import PreparedData, load_prepared
from .data.images_io import load_image_folder
from .data.polar import PolarGeometry, decode, render
from .data.simulate import SimulationConfig
from .data.spectra_io import load_spectra

__version__ = "0.1.0"

__all__ = [
    "STRATEGIES", "DataError", "LoadReport", "PolarGeometry", "PreparedData",
    "SimulationConfig", "decode", "load_image_folder", "load_params", "load_prepared",
    "load_spectra", "oversample", "render", "strategy_name",
]
