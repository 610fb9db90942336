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
# # 05b · The paper's baseline table, in the paper's layout
#
# The paper trained MPcGAN on five training sets (the data as given, random resampling and its
# chooser's three best strategies) and reported FID and IS for each, without and with
# SYMP-Filter. This stage does the same in one fold, with this run's own chooser ranking and
# the cgan settings of `params.yaml`, in the paper's protocol: samples in the real class mix,
# `paper_repeats` fresh draws, IS over `isc_splits` splits. Beside each generator stands its
# gate (`gansemble_lib/evaluation/gate.py`): an FID of a generator that ignores its labels says
# little.
# Only the fold's train part trains; its held-out part is the reference of the scores and is
# read after every generator has been trained.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "paper_table"
params = None
paths = None

# %%
import json
import time

import numpy as np
import pandas as pd

from gansemble_lib.augment.spectra import SpectralSource
from gansemble_lib.core import progress
from gansemble_lib.core.constants import CLASS_INDEX, TRAIN, VAL
from gansemble_lib.core.io_utils import write_json
from gansemble_lib.core.numerics import resolve_device
from gansemble_lib.core.params_io import borrowed_section
from gansemble_lib.core.tables import frame_record, save_table
from gansemble_lib.data.dataset import load_prepared
from gansemble_lib.evaluation import cgan_stage, extractors, fidelity, gan_checks, gate
from gansemble_lib.evaluation import paper_table as pt
from gansemble_lib.generators import cgan
from gansemble_lib.generators.gan_training import CHECKPOINT_FILE
from gansemble_lib.generators.interface import load_generator
from gansemble_lib.pipeline.inputs import notebook_inputs

started = time.perf_counter()
params, paths = notebook_inputs(stage, params, paths)
data = load_prepared(paths.prepared_dir)
train, val = data.subset(TRAIN), data.subset(VAL)
scores = pd.read_csv(f"{paths.tables_dir}/02_chooser_scores.csv")
chosen = json.loads(open(f"{paths.augmented_dir}/chosen.json", encoding="utf-8").read())
ranking = pt.top_strategies(scores, metric=paths.select_metric, top=3)
bounds = borrowed_section("spectral_augment", paths)  # as in the chooser
sets = pt.training_sets(train.images, train.labels, ranking=ranking, resample_n=chosen["n"],
                        seed=params.seed, source=SpectralSource.of(data, train, bounds))
for s in sets:
    print(f"{s.name}: {len(s.labels)} images")

# %% [markdown]
# ## Five MPcGANs
# Same architecture, settings and budget (`cgan` section) for every training set.

# %%
generators, gates = {}, {}
for i, s in enumerate(sets):
    model_dir = f"{paths.models_dir}/{pt.set_key(i)}"
    run = cgan.train(s.images, s.labels, data.classes, architecture="mpcgan", params=params,
                     model_dir=model_dir, progress=False, write_grids=False,
                     device=paths.device)
    generator = load_generator(f"{model_dir}/{CHECKPOINT_FILE}")
    samples, labels = cgan_stage.evaluation_samples(generator, params.eval_per_class,
                                                    seed=params.seed + 1)
    near = gan_checks.nearest_real(samples, train.images, val.images, sample_labels=labels,
                                   train_labels=train.labels)
    gates[s.name] = cgan_stage.gate_record(samples, labels, data, spread_ratio=near.spread_ratio,
                                           margins=borrowed_section("gate", paths),
                                           seed=params.seed)
    generators[s.name] = generator
    print(f"{s.name}: {run.train_seconds:.0f} s; " + gate.statement("MPcGAN", gates[s.name]))

# %% [markdown]
# ## FID and IS in the paper's protocol, without and with SYMP-Filter

# %%
device = resolve_device(paths.device)
extractor = extractors.resolve_extractor(inception_weights=paths.inception_weights,
                                         allow_network=paths.network == "allowed",
                                         domain_weights=paths.domain_extractor_path)
settings = fidelity.MetricSettings(kid_subsets=paths.kid_subsets, isc_splits=paths.isc_splits,
                                   prc_neighborhood=paths.prc_neighborhood, seed=params.seed,
                                   device=str(device))
print(f"extractor: {extractor.name} (weights sha256 {extractor.weights_sha256})")
# FID in the literature's units as well, when the standard network was fetched (make inception)
standard = extractors.torchscript_inception(paths.inception_torchscript)
if standard is not None:
    print(f"and FID/KID with {standard.name} (weights sha256 {standard.weights_sha256})")
test = data.test_for_evaluation()  # the reference of the scores, and nothing else
counts = np.bincount(data.manifest[CLASS_INDEX], minlength=len(data.classes))
rows = []
for s in sets:
    line = pt.set_record(s)
    generate = generators[s.name].generate
    variants = {"without_symp": generate, "with_symp": pt.symp_generate(
        generate, pool_size=paths.pool_size, keep=paths.keep, region=paths.region,
        corner_fraction=paths.corner_fraction, direction=paths.direction)}
    for label, draw in variants.items():
        runs = fidelity.paper_protocol(draw, counts, test.images, extractor=extractor,
                                       repeats=paths.paper_repeats, settings=settings)
        summary = fidelity.summarise_repeats(runs)
        line.update({f"{m}_{label}_{stat}": summary[f"{m}_{stat}"]
                     for m in ("fid", "is", "kid") for stat in ("mean", "sd")})
        if standard is not None:
            runs = fidelity.paper_protocol(draw, counts, test.images, extractor=standard,
                                           repeats=paths.paper_repeats, settings=settings,
                                           isc=False)
            summary = fidelity.summarise_repeats(runs)
            line.update({f"{m}_inception_{label}_{stat}": summary[f"{m}_{stat}"]
                         for m in ("fid", "kid") for stat in ("mean", "sd")})
    line.update(gate=gates[s.name][gate.STATUS], validity=gates[s.name][gate.VALIDITY],
                validity_null=gates[s.name][gate.NULL], diversity=gates[s.name][gate.DIVERSITY],
                extractor=extractor.name, repeats=paths.paper_repeats,
                **({"standard_extractor": standard.name} if standard is not None else {}))
    rows.append(line)
table = pt.layout(rows)
save_table(table, paths.tables_dir, "05b_paper_table")
table

# %%
write_json(paths.metrics_path, {
    "fold": getattr(paths, "fold", None), "extractor": {
        "name": extractor.name, "weights_sha256": extractor.weights_sha256,
        "notice": extractor.notice},
    "standard_extractor": None if standard is None else {
        "name": standard.name, "weights_sha256": standard.weights_sha256,
        "columns": "fid_inception_*, kid_inception_* (IS: the extractor above)"},
    "protocol": f"class-mix samples of the real class counts, {paths.paper_repeats} draws, IS "
                f"over {paths.isc_splits} splits; SYMP keeps {paths.keep} of {paths.pool_size}",
    "ranking": [{"strategy": s, "n": n} for s, n in ranking],
    "rows": frame_record(table), "row_order": list(table.index),
    "gate_rules": gate.rules(borrowed_section("gate", paths))})
progress.summary(f"paper-layout table: {len(sets)} MPcGANs scored with the {extractor.name} "
                 f"extractor in {time.perf_counter() - started:.0f} s; gate: "
                 + ", ".join(f"{k}: {v[gate.STATUS]}" for k, v in gates.items()))
