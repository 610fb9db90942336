"""Names shared by the library, the notebooks, the tests and the JSON outputs.

Spelling a column or metric name once here means a rename cannot silently break a
notebook or a metrics file that DVC compares across runs.
"""

# Manifest columns (data/prepared/manifest.csv)
SAMPLE_ID = "sample_id"
LABEL = "label"
CLASS_INDEX = "class_index"
SPLIT = "split"
SOURCE = "source"
MANIFEST_COLUMNS = (SAMPLE_ID, LABEL, CLASS_INDEX, SPLIT, SOURCE)

# Split names. "unused" holds training samples that an imbalance profile left out: they are
# listed, never silently dropped, and never used by any stage.
TRAIN = "train"
VAL = "val"
TEST = "test"
UNUSED = "unused"
SPLITS = (TRAIN, VAL, TEST)

# Modalities of data/raw
SPECTRA = "spectra"
IMAGES = "images"

# Files inside data/raw and data/prepared
DATASET_DESCRIPTOR = "dataset.yaml"
MANIFEST_FILE = "manifest.csv"
IMAGES_FILE = "images.npy"
SPECTRA_FILE = "spectra.npz"
PREPARED_INFO_FILE = "info.json"
FOLDS_FILE = "folds.csv"  # data/prepared: sample_id + the split of every sample in each fold

# Metric names (reports/metrics/*.json)
N_SAMPLES = "n_samples"
N_CLASSES = "n_classes"
IMBALANCE_RATIO = "imbalance_ratio"
CLASS_COUNTS = "class_counts"
INK_FRACTION = "ink_fraction"
MEAN_PIXEL = "mean_pixel"

# Classification scores (chooser, downstream checks)
ACCURACY = "accuracy"
BALANCED_ACCURACY = "balanced_accuracy"
MACRO_PRECISION = "macro_precision"
MACRO_RECALL = "macro_recall"
MACRO_F1 = "macro_f1"
SCORES = (ACCURACY, MACRO_PRECISION, MACRO_RECALL, MACRO_F1)

# Fidelity metrics (stage 05) and the provenance every fidelity number carries
FID = "fid"
KID_MEAN = "kid_mean"
KID_STD = "kid_std"
KID_SUBSET_SIZE = "kid_subset_size"
IS_MEAN = "is_mean"
IS_STD = "is_std"
IS_SPLITS = "is_splits"
PRECISION = "precision"
RECALL = "recall"
N_GENERATED = "n_generated"
N_REFERENCE = "n_reference"
EXTRACTOR = "extractor"
WEIGHTS_SHA256 = "weights_sha256"
NOTE = "note"
FIDELITY_METRICS = (FID, KID_MEAN, KID_STD, IS_MEAN, IS_STD, PRECISION, RECALL)

# Class counts of the GANsemble paper's dataset (PAPERS.md §1): the simulator's default draw
# and the shape of the `paper` imbalance profile.
PAPER_CLASS_COUNTS: dict[str, int] = {
    "Cellulosic": 19, "POM": 5, "PA": 19, "PE": 26, "PET": 16,
    "PP": 20, "PS": 17, "PU": 27, "PVC": 23, "Silica": 38,
}  # fmt: skip
