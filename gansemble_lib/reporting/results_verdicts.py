"""RESULTS.md sections of stage 06 across units: the verdict table, the first look, the oracle
rows and learning curve, the spectrum classifiers, and what the design can show."""

from __future__ import annotations

from .md_cells import design, fmt, is_replicates, ordered, pm, verdict_line


def downstream_folds(result: dict) -> list[str]:
    one = result["folds"] == 1
    lines = [f"Downstream classifier ({result['classifier']}, seeds {result['seeds']} in the first "
             f"unit and shifted per unit, {result['budget']}; {design(result)}). "
             + ("With one split the difference carries its 95 % paired bootstrap interval "
                "(seeds and test images resampled) and there is no verdict. " if one else "")
             + ("Difference = macro-F1 minus real-only, paired within each replicate, mean "
                "± sd across replicates; P(…) from the Bayesian t posterior for independent "
                f"units (scale s/√R) with ROPE ±{result['rope']}; verdict at probability ≥ "
                f"{result['decision']}; p (Holm): paired t-test, Holm-adjusted across rows; "
                if is_replicates(result) else
                "Difference = macro-F1 minus real-only, paired within each fold, mean ± sd "
                "across folds; P(…) from the Bayesian correlated t-test with ROPE "
                f"±{result['rope']}; verdict at probability ≥ {result['decision']}; p (Holm): "
                "Nadeau–Bengio corrected t-test, Holm-adjusted across rows; ")
             + "decidable: the smallest true difference this design declares better half of "
             "the time at this row's spread (ROPE + the posterior's half-width); minority "
             "recall: difference in mean recall of the minority classes (secondary "
             "endpoint).", "",
             "| training data | macro-F1 | difference | P(better) | P(equiv.) | P(worse) | "
             "verdict | decidable | p (Holm) | minority recall |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    worth = any(row.get("worth_real_per_class") for row in result["rows"].values())
    if worth:  # simulated data: what each row is worth in fresh real spectra per class
        lines[0] += (" Worth: the fresh real spectra per class that real-only training needs "
                     "to reach the row's macro-F1, read off each unit's own oracle curve (made "
                     "monotone): the median, and in brackets the 10-90 % range across units.")
        lines[2] += " worth (real per class) |"
        lines[3] += " ---: |"
    failed = result.get("failed_generator_rows") or {}
    for name, row in ordered(result["rows"], result.get("row_order")):
        tail = f" {row.get('worth_real_per_class') or '—'} |" if worth else ""
        if row.get("note") and row.get("macro_f1_mean") is None:
            lines.append(f"| {name} |" + " — |" * 8 + f" {row['note']} |" + tail)
            continue
        if name in failed:  # the row stays, marked: it measures a failed generator
            name = f"{name} (**generator {failed[name]}**)"
        if name == result.get("baseline"):
            lines.append(f"| {name} | {fmt(row['macro_f1_mean'])} ± "
                         f"{fmt(row.get('macro_f1_sd'))} |" + " — |" * 8 + tail)
            continue
        diff = "—" if row.get("diff_mean") is None else (
            f"{fmt(row['diff_mean'], sign=True)} ± {fmt(row.get('diff_sd'))}")
        if row.get("ci_low") is not None:  # one split: the in-split bootstrap interval
            diff = (f"{fmt(row['diff_mean'], sign=True)} [{fmt(row['ci_low'], sign=True)}, "
                    f"{fmt(row['ci_high'], sign=True)}]")
        lines.append(
            f"| {name} | {fmt(row['macro_f1_mean'])} ± {fmt(row.get('macro_f1_sd'))} | "
            f"{diff} | {fmt(row.get('p_better'), 2)} | {fmt(row.get('p_equivalent'), 2)} | "
            f"{fmt(row.get('p_worse'), 2)} | {row.get('verdict') or '—'} | "
            f"{fmt(row.get('smallest_decidable'), 3)} | "
            f"{fmt(row.get('p_holm'), 3)} | {fmt(row.get('minority_recall_diff'), sign=True)} |"
            + tail)
    by_fold = result.get("emptied_by_filter") or {}
    emptied = {}
    for fold, rows in by_fold.items():
        for row in rows:
            emptied.setdefault(row, []).append(fold)
    if emptied:
        lines += ["", "Filters that kept no image in some fold (failed there; no row in those "
                  "folds, so no verdict): " + "; ".join(
                      f"{row} ({', '.join(folds)})" for row, folds in sorted(emptied.items()))
                  + "."]
    lines += ["", f"**Conclusion:** {result['conclusion']}"]
    return lines


def first_look(result: dict) -> list[str]:
    """The verdicts over the first ``interim`` replicates beside those over all of them."""
    look = result.get("interim") or {}
    if not look.get("rows"):
        return []
    n, total = look["replicates"], result["folds"]
    lines = [f"**The first look: verdicts over the first {n} of the {total} replicates** "
             "(planned before the run, `evaluation.interim`; the same test and ROPE; the "
             "generator-gate marks are those of all the replicates), beside the verdicts over "
             f"all {total}. Spectrum-classifier rows are judged against the same classifier "
             "on real spectra.", "",
             f"| training data | difference (first {n}) | P(better) | P(equiv.) | P(worse) | "
             f"verdict (first {n}) | decidable (first {n}) | verdict (all {total}) |",
             "| --- | ---: | ---: | ---: | ---: | --- | ---: | --- |"]
    failed = result.get("failed_generator_rows") or {}
    spectrum = result.get("spectrum_classifiers") or {}
    for rows, first, order in ((result["rows"], look["rows"], result.get("row_order")),
                               (spectrum.get("rows") or {},
                                (look.get("spectrum_classifiers") or {}).get("rows") or {},
                                spectrum.get("row_order"))):
        for name, row in ordered(first, order):
            if row.get("diff_mean") is None:
                continue  # a baseline
            mark = f" (**generator {failed[name]}**)" if name in failed else ""
            lines.append(
                f"| {name}{mark} | {pm(row, 'diff', sign=True)} | "
                f"{fmt(row.get('p_better'), 2)} | {fmt(row.get('p_equivalent'), 2)} | "
                f"{fmt(row.get('p_worse'), 2)} | {row.get('verdict') or '—'} | "
                f"{fmt(row.get('smallest_decidable'), 3)} | "
                f"{(rows.get(name) or {}).get('verdict') or '—'} |")
    return lines


def oracle_section(result: dict, figure: str) -> list[str]:
    """Stage 06's simulator-only rows: the oracle, the learning curve, the fresh test set."""
    record = result.get("oracle") or {}
    if not record:
        return []
    if not record.get("simulated") or record.get("why_not"):
        return [f"**Oracle rows, learning curve, fresh test set:** none; "
                f"{record.get('why_not', '')}."]
    rows = record.get("rows") or {}
    lines = [f"**What more real data would buy (simulated data only).** Real-only training "
             f"plus k fresh simulated spectra per class, drawn by the simulator that made the "
             f"data and in no split of any fold (checked at run time); on top of the folds' "
             f"{record['real_per_class']:.1f} real train spectra per class on average.", "",
             "| training data | macro-F1 | difference | P(better) | P(equiv.) | P(worse) | "
             "verdict |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    lines += [verdict_line(name, row) for name, row in ordered(rows, record.get("row_order"))]
    curves = record.get("learning_curve") or {}
    ks = sorted({int(k) for curve in curves.values() for points in curve.values()
                 for k in points})
    lines += ["", f"**Learning curve** (macro-F1, mean ± sd across folds; [figure]({figure})): "
              "real-only, the best baseline (the chooser's pick, chosen on validation data) "
              "and the best generator (highest held-in gate validity among those that "
              "passed, per fold), each + k fresh real spectra per class, scored on each "
              "fold's held-out part and on the fresh simulated test set.", "",
              "| tested on | curve | " + " | ".join(f"k = {k}" for k in ks) + " |",
              "| --- | --- |" + " ---: |" * len(ks)]
    tests = sorted(curves, key=lambda t: t != "held-out folds")  # the held-out folds first
    for test in tests:
        curve = curves[test]
        for name in sorted(curve, key=lambda c: (c != "real only", c)):  # real-only first
            points = curve[name]
            lines.append(f"| {test} | {name} | " + " | ".join(
                pm(points[str(k)], "macro_f1") if str(k) in points else "—" for k in ks)
                + " |")
    chosen = record.get("best_generator") or {}
    lines += ["", "Best generator per fold: " + "; ".join(
        f"{fold}: {pick.get('note')}" for fold, pick in chosen.items()) + "."]
    test = record.get("simulated_test") or {}
    if test and record.get("simulated_test_spectra"):
        lines += ["", f"**Fresh simulated test set** ({record['simulated_test_spectra']} "
                  "spectra no one has seen, scored by every fold's image classifiers; mean ± "
                  "sd across folds of the mean over seeds; difference paired by seed): without "
                  "the held-out folds' sampling noise, not the classifiers' training "
                  "noise (the sd). Worth: read on this test set's own real-only curve; a "
                  "point estimate, as uncertain as the difference.", "",
                  "| training data | macro-F1 | difference from real-only | worth (real per "
                  "class) |", "| --- | ---: | ---: | ---: |"]
        failed = result.get("failed_generator_rows") or {}
        for name, row in ordered(test, record.get("simulated_test_order")):
            mark = f" (**generator {failed[name]}**)" if name in failed else ""
            lines.append(f"| {name}{mark} | {pm(row, 'macro_f1')} | "
                         + ("—" if name == result.get("baseline") else pm(row, "diff", True))
                         + f" | {row.get('worth_real_per_class') or '—'} |")
    return lines


def spectrum_classifiers(result: dict) -> list[str]:
    """Stage 06's spectrum-classifier rows, each against the same classifier on real spectra."""
    family = result.get("spectrum_classifiers") or {}
    rows = family.get("rows") or {}
    if not rows:
        return []
    failed = result.get("failed_generator_rows") or {}
    lines = ["**Does synthetic data help the classifier a chemist would use?** Logistic "
             "regression and a small 1-D CNN on the spectra, trained on real spectra plus one "
             "synthetic set (native spectra of SMOTE and the spectrum GAN; the image "
             "generators' samples read back to spectra), each against the same classifier "
             "on real spectra only.", "",
             "| classifier + synthetic spectra | macro-F1 | difference | P(better) | "
             "P(equiv.) | P(worse) | verdict |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for name, row in ordered(rows, family.get("row_order")):
        mark = " (generator failed the gate)" if name in failed else ""
        lines.append(verdict_line(f"**{name}**" if row.get("diff_mean") is None
                                   else f"{name}{mark}", row))
    return [*lines, "", f"**Conclusion (spectrum classifiers):** {family.get('conclusion', '')}"]


def what_folds_show(result: dict) -> str:
    """Plain words on what this evaluation design can and cannot tell a reader."""
    if result["folds"] == 1:
        return ("**One split.** Every number comes from one train/val/test split: it shows how "
                "the pipeline behaves, not whether a difference would survive another split. "
                "Use `evaluation.folds` >= 2 for verdicts.")
    if is_replicates(result):
        decidable = [row.get("smallest_decidable") for row in result["rows"].values()
                     if row.get("smallest_decidable") is not None]
        reach = (f" At the spreads observed, the smallest difference this run can call "
                 f"better is {min(decidable):.3f} to {max(decidable):.3f} macro-F1 depending "
                 "on the row; more replicates lower it as 1/√R." if decidable else "")
        return (f"**What the replicates can and cannot show.** Each of the {result['folds']} "
                "replicates is a new dataset drawn from the calibrated simulator with the "
                "default data's class counts, run through everything that learns or selects "
                "and scored on its own fresh test set (the smallest class 100 spectra), so the "
                "replicates are independent and the verdicts need no correction for overlap. "
                "They answer the question for the process that makes the data, at this "
                "sample size, not for one particular dataset." + reach + " 'Undecided' means "
                "the replicates cannot tell yet, not 'no effect'; 'practically equivalent' "
                f"means the difference is probably within ±{result['rope']} macro-F1; a "
                "generator that failed its checks (stage 03) is judged as it behaved.")
    k, r = result["folds"], result["repeats"]
    return (f"**What the folds can and cannot show.** Each of the {k * r} outer folds reran "
            "everything that learns or selects (chooser, generators, filters, extractor, "
            "classifiers) on its training part and scored its held-out part once, so every "
            "sample was predicted by a pipeline that never saw it, and the spread across folds "
            "includes the split, the generators' training and the chooser's pick. The folds' "
            "training parts overlap, so their scores are correlated; the Bayesian test and the "
            "corrected t-test widen their uncertainty for that (Nadeau–Bengio), but no "
            "correction is exact. With few folds a verdict needs a clear effect: "
            f"'undecided' means the data cannot tell, not 'no effect'. 'Practically equivalent' "
            f"means the difference is probably within ±{result['rope']} macro-F1. The verdicts "
            "are about this dataset and this classifier budget; they do not transfer to other "
            "data, and a generator that failed its checks (stage 03) is judged as it behaved.")


