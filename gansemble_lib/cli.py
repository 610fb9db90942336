"""``gansemble`` command line (also ``python -m gansemble_lib``)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from .errors import DataError


def _cmd_fetch_data(args: argparse.Namespace) -> None:
    from .raw_data import fetch_default_data

    print(f"data: {args.raw} {fetch_default_data(args.raw, args.dvc_file)}")


def _cmd_simulate(args: argparse.Namespace) -> None:
    from .simulate import SimulationConfig, write_dataset

    path = write_dataset(args.out, SimulationConfig(seed=args.seed), overwrite=args.overwrite)
    print(f"simulated default dataset (seed {args.seed}) written to {path}")


def _cmd_import_data(args: argparse.Namespace) -> None:
    from .raw_data import import_data

    options = {"label_column": args.label_column, "wavenumber_column": args.wavenumber_column,
               "label_regex": args.label_regex}
    data = import_data(args.src, fmt=args.format, raw_dir=args.raw, options=options,
                       record=not args.no_dvc)
    counts = Counter(data.labels)
    print(f"imported {sum(counts.values())} {data.modality} samples in {len(counts)} classes "
          f"into {args.raw}:")
    for name, n in counts.items():
        print(f"  {name:<24} {n:>5}")
    for skip in data.report.skipped:
        print(f"  skipped {skip.source}: {skip.reason}")
    for note in data.report.notes:
        print(f"  note: {note}")
    if not args.no_dvc:
        print("recorded in data.dvc; commit it with git, then run `dvc repro`")


def _cmd_prepare(args: argparse.Namespace) -> None:
    from .config import load_params
    from .prepare import prepare, summary_line

    info = prepare(args.raw, args.out, load_params(args.params, "prepare"))
    print(summary_line(info))
    for skip in info["skipped"]:
        print(f"  skipped {skip['source']}: {skip['reason']}")


def _cmd_profile(args: argparse.Namespace) -> None:
    from .profiles import write_profile

    print(f"wrote the {args.name!r} profile to {write_profile(args.name, args.output)}")


def _cmd_update_readme(args: argparse.Namespace) -> None:
    from .readme_results import update_readme

    changed = update_readme(args.readme, args.metrics)
    print(f"{args.readme}: results section {'updated' if changed else 'already up to date'}")


def _cmd_run_dataset(args: argparse.Namespace) -> None:
    from .dataset_runs import run_dataset

    options = []
    for flag, value in (("--label-column", args.label_column),
                        ("--wavenumber-column", args.wavenumber_column),
                        ("--label-regex", args.label_regex)):
        if value is not None:
            options += [flag, value]
    run_dataset(args.name, args.src, fmt=args.format, profile=args.profile,
                import_options=tuple(options))
    print(f"next: `gansemble update-readme` to show them, then commit reports/datasets/"
          f"{args.name}")


def build_parser() -> argparse.ArgumentParser:
    from .profiles import PROFILES
    from .raw_data import ALL_FORMATS

    parser = argparse.ArgumentParser(prog="gansemble", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch-data", help="materialise data/raw offline (cache or simulator)")
    p.add_argument("--raw", default="data/raw")
    p.add_argument("--dvc-file", default="data.dvc")
    p.set_defaults(func=_cmd_fetch_data)

    p = sub.add_parser("simulate", help="write the simulated default dataset to a folder")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("import-data", help="replace data/raw with your own data, record it "
                                           "with DVC")
    p.add_argument("src", nargs="+", help="file(s) or one folder")
    p.add_argument("--format", default="auto", choices=ALL_FORMATS)
    p.add_argument("--label-column", help="wide_label: the column holding the class")
    p.add_argument("--wavenumber-column", help="wide_wavenumber: the axis column")
    p.add_argument("--label-regex", help="regex whose first group is the class label")
    p.add_argument("--raw", default="data/raw")
    p.add_argument("--no-dvc", action="store_true", help="do not update data.dvc")
    p.set_defaults(func=_cmd_import_data)

    p = sub.add_parser("run-dataset", help="run the whole pipeline on another dataset in "
                                           "runs/NAME; keep results in reports/datasets/NAME")
    p.add_argument("name", help="short name for the result set, e.g. rampp")
    p.add_argument("src", nargs="+", help="file(s) or one folder, as for import-data")
    p.add_argument("--format", default="auto", choices=ALL_FORMATS)
    p.add_argument("--profile", choices=sorted(PROFILES),
                   help="parameter profile for this run (default: params.yaml as committed)")
    p.add_argument("--label-column", help="wide_label: the column holding the class")
    p.add_argument("--wavenumber-column", help="wide_wavenumber: the axis column")
    p.add_argument("--label-regex", help="regex whose first group is the class label")
    p.set_defaults(func=_cmd_run_dataset)

    p = sub.add_parser("prepare", help="the prepare stage (run by dvc repro)")
    p.add_argument("--raw", default="data/raw")
    p.add_argument("--out", default="data/prepared")
    p.add_argument("--params", default="params.yaml")
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser("profile", help="write params.yaml for a named profile")
    p.add_argument("name", choices=sorted(PROFILES))
    p.add_argument("--output", default="params.yaml")
    p.set_defaults(func=_cmd_profile)

    p = sub.add_parser("update-readme", help="regenerate the README results from the metrics")
    p.add_argument("--readme", default="README.md")
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
