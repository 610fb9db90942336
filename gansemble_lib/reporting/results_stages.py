"""RESULTS.md sections of the stages before the verdicts: the chooser's picks, the generator gate
and the generators' checks, fidelity, the paper-layout table, and the single-split tables."""

from __future__ import annotations

from ..evaluation import gate
from .md_cells import fmt, ordered, pm


def chosen_folds(result: dict) -> list[str]:
    def margin(row: dict) -> str:  # older result sets did not record it
        if row.get("runner_up_margin") is None:
            return ""
        return f", runner-up {fmt(row['runner_up_margin'])} below"

    picks = [f"{fold}: {row['strategy']} at N = {fmt(row['n'], 0)} (validation macro-F1 "
             f"{fmt(row['val_macro_f1'])}{margin(row)}, {fmt(row['tied_candidates'], 0)} "
             "other candidates within mean ± sd)" for fold, row in result["per_fold"].items()]
    return ["Data chooser, per fold (each on its own training part): " + "; ".join(picks) + "."]


def generators_folds(result: dict) -> list[str]:
    lines = ["Generators (stage 03, on each fold's training part; mean ± sd across folds). "
             "Class-mean match: share of decoded samples whose spectrum correlates best with "
             "their own class's mean (chance = 1/classes; the real validation images' share "
             "is the ceiling). Same-class NN: share whose nearest real train image is of "
             "the conditioned class. Spread ratio: within-class spread of samples / of real "
             "images (near 0 = collapsed).", "",
             "| generator | class-mean match | ceiling (real val) | same-class NN | "
             "spread ratio |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, row in result["generators"].items():
        lines.append(f"| {name} | {pm(row, 'class_mean_match')} | "
                     f"{pm(row, 'class_mean_match_val')} | {pm(row, 'share_nn_same_class')} "
                     f"| {pm(row, 'within_class_spread_ratio')} |")
    return lines


def gate_folds(result: dict) -> list[str]:
    """The generator gate across folds (03_generators.json's ``gate``)."""
    gates = result.get("gate") or {}
    if not gates:
        return []
    lines = [f"**Generator gate** (held-in data only). {result.get('gate_rules', '')} "
             "Validity: share of samples the judge assigns to their conditioned class; "
             "null: the same with labels shuffled; real: real validation data's share.", "",
             "| generator | validity | null | real | diversity | folds passed | gate |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for name, row in gates.items():
        status = row["status"] if row["status"] == gate.PASSED else f"**{row['status']}**"
        lines.append(f"| {name} | {pm(row, 'validity')} | {fmt(row.get('validity_null_mean'), 2)}"
                     f" | {fmt(row.get('validity_real_mean'), 2)} | {pm(row, 'diversity')} | "
                     f"{row['folds_passed']} of {row['folds_gated']} | {status} |")
    judges = sorted({row.get("judge") for row in gates.values() if row.get("judge")})
    lines += ["", "Judge: " + "; ".join(judges) + "."]
    return lines


def fidelity_folds(result: dict) -> list[str]:
    extractor = result["extractor"]
    lines = [f"Fidelity (stage 05) against each fold's held-out real samples, mean ± sd "
             f"across folds (extractor `{extractor['name']}`, {extractor['feature_dim']} "
             "features). *null*: the same metric for as many real train images as the set has, "
             "scored against the same held-out samples (real-vs-real); a set larger than the "
             "train split gets a null of all train images (*null n* says how many), which is "
             "the best real data can show here, not what a perfect generator would get at the "
             "set's size.", ""]
    if extractor.get("notice"):
        lines += [f"> {extractor['notice']}", ""]
    lines += ["| set | n | null n | FID | FID null | KID | KID null | precision | "
              "precision null | recall | recall null |", "| --- |" + " ---: |" * 10]
    for name, row in result["overall"].items():
        gate_status = row.get("generator_gate")
        if gate_status and gate_status != gate.PASSED:
            name = f"{name} (**generator {gate_status}**)"
        if row.get("fid_mean") is None and row.get("note"):
            lines.append(f"| {name} |" + " — |" * 9 + f" {row['note']} |")
            continue
        lines.append(f"| {name} | {fmt(row.get('n_generated_mean'), 0)} | "
                     f"{fmt(row.get('null_n_mean'), 0)} | "
                     + " | ".join(f"{pm(row, m)} | {pm(row, m + '_null')}"
                                  for m in ("fid", "kid_mean", "precision", "recall")) + " |")
    return lines + standard_fidelity(result)


def paper_table(result: dict) -> list[str]:
    """Stage 05b: the paper's baseline table in its layout; with the standard Inception-v3
    fetched, its FID beside the run's extractor, each named with its weights' hash."""
    if not result.get("rows"):
        return [f"The paper-layout table (stage 05b) was not run: {result.get('how', '')}."]
    extractor, standard = result["extractor"], result.get("standard_extractor")
    named = f"`{extractor['name']}`" + (
        f" (weights sha256 `{extractor['weights_sha256'][:12]}…`)"
        if extractor.get("weights_sha256") else "")
    lines = [f"**The paper's baseline table, in its layout** (stage 05b, fold {result['fold']}): "
             f"MPcGAN trained on five sets; {result['protocol']}; FID and IS with {named}"
             + (" (not Inception-v3: its values are not comparable with the paper's)"
                if "inception" not in extractor["name"] else "")
             + (f"; *Inception FID* with the standard `{standard['name']}` (weights sha256 "
                f"`{standard['weights_sha256'][:12]}…`), in the literature's units"
                if standard else "")
             + ". Keeps label: whether the set's augmentation keeps the meaning of a polar "
             "spectrum. Gate: did the generator learn its classes (validity: the class-mean "
             "match of its samples; real images score near 1, a generator that ignores its "
             "labels near the null).", ""]
    columns = [("FID", "fid_without_symp"), ("FID + SYMP", "fid_with_symp")]
    if standard:
        columns += [("Inception FID", "fid_inception_without_symp"),
                    ("Inception FID + SYMP", "fid_inception_with_symp")]
    columns += [("IS", "is_without_symp"), ("IS + SYMP", "is_with_symp")]
    lines += ["| training set | keeps label | " + " | ".join(c for c, _ in columns)
              + " | validity (null) | gate |",
              "| --- | --- |" + " ---: |" * len(columns) + " ---: | --- |"]
    for name, row in ordered(result["rows"], result.get("row_order")):
        validity = ("—" if row.get("validity") is None else
                    f"{fmt(row['validity'], 2)} ({fmt(row.get('validity_null'), 2)})")
        lines.append(f"| {name} | {'yes' if row.get('keeps_label') else 'no'} | "
                     + " | ".join(pm(row, key) for _, key in columns)
                     + f" | {validity} | {row.get('gate')} |")
    return lines


def fidelity_split(result: dict) -> list[str]:
    extractor = result["extractor"]
    lines = [f"Fidelity against the real test split (stage 05; extractor `{extractor['name']}`, "
             f"weights sha256 `{extractor['weights_sha256'][:16]}…`, {extractor['feature_dim']} "
             "features). The real-train row compares real train with real test images: the floor a "
             "generator can hope to reach. Empty cells: "
             "a filter kept too few images to compute the metric.", ""]
    if extractor.get("notice"):
        lines += [f"> {extractor['notice']}", ""]
    rows = result["overall"]
    has_n = any("n_generated" in row for row in rows.values())
    notes = sorted({row["note"] for row in rows.values() if row.get("note")})
    marks = {note: chr(ord("a") + i) for i, note in enumerate(notes)}
    lines += ["| source | filter |" + (" n |" if has_n else "") +
              " FID | KID | IS | precision | recall |" + (" note |" if notes else ""),
              "| --- | --- |" + (" ---: |" if has_n else "") + " ---: |" * 5 +
              (" --- |" if notes else "")]
    for name, row in ordered(rows, result.get("overall_order")):
        source, _, filter_name = name.partition("/")
        n = (f" {'' if row.get('n_generated') is None else row['n_generated']} |"
             if has_n else "")
        cells = " | ".join("" if row.get(c) is None else fmt(row[c])
                           for c in ("fid", "kid_mean", "is_mean", "precision", "recall"))
        note = f" {marks[row['note']]} |" if row.get("note") else (" |" if notes else "")
        lines.append(f"| {source} | {filter_name} |{n} {cells} |{note}")
    if notes:
        lines += ["", "Notes: " + "; ".join(f"({marks[note]}) {note}" for note in notes) + "."]
    return lines + standard_fidelity(result)


def standard_fidelity(result: dict) -> list[str]:
    """Stage 05's sets scored with the standard Inception-v3 too, when it was fetched (across
    units: the first unit's, ``standard_unit``)."""
    standard = result.get("standard")
    if not standard or not standard.get("overall"):
        return []
    unit = f" in unit {result['standard_unit']}" if result.get("standard_unit") else ""
    lines = ["", f"The same sets{unit} with the standard `{standard['name']}` (weights sha256 "
             f"`{standard['weights_sha256'][:12]}…`), in the literature's units (no IS: the "
             "network has no classification layer):", "",
             "| source | filter | FID | KID | precision | recall |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name, row in ordered(standard["overall"], result.get("overall_order")):
        source, _, filter_name = name.partition("/")
        lines.append(f"| {source} | {filter_name} | " + " | ".join(
            "" if row.get(c) is None else fmt(row[c])
            for c in ("fid", "kid_mean", "precision", "recall")) + " |")
    return lines


def downstream_split(result: dict) -> list[str]:
    budget = f", {result['budget']}" if result.get("budget") else ""
    lines = [f"Downstream classifier ({result['classifier']}, seeds {result['seeds']}{budget}), "
             "tested on "
             "the real test split; difference = macro-F1 minus real-only with its 95 % paired "
             "bootstrap interval:", "",
             "| training data | macro-F1 (mean ± sd) | balanced accuracy | difference [95 % CI] |",
             "| --- | ---: | ---: | ---: |"]
    for name, row in ordered(result["rows"], result.get("row_order")):
        if row.get("note") and row.get("macro_f1_mean") is None:
            lines.append(f"| {name} | — | — | {row['note']} |")
            continue
        diff = ("—" if row.get("diff_macro_f1") is None else
                f"{fmt(row['diff_macro_f1'], sign=True)} [{fmt(row['ci_low'], sign=True)}, "
                f"{fmt(row['ci_high'], sign=True)}]" + (" *" if row["excludes_zero"] else ""))
        lines.append(f"| {name} | {fmt(row['macro_f1_mean'])} ± {fmt(row['macro_f1_std'])} | "
                     f"{fmt(row['balanced_accuracy_mean'])} | {diff} |")
    emptied = result.get("emptied_by_filter") or []
    lines += ["", "\\* interval excludes zero."]
    if emptied:
        lines += ["", "Filters that kept no image (no row, the data would equal real-only): "
                  + ", ".join(emptied) + "."]
    lines += ["", f"**Conclusion:** {result['conclusion']}"]
    return lines


