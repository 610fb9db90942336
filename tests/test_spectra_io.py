"""Spectra loaders: every layout, the file-format guesses, label clean-up, real RaMPP files
and the errors a person sees for broken input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from gansemble_lib import cli
from gansemble_lib.core.errors import DataError
from gansemble_lib.data.spectra_io import FORMATS, clean_label, load_spectra
from gansemble_lib.data.text_table import read_table

RAMPP = Path(__file__).resolve().parents[2] / "shared" / "data" / "rampp"
FW = "Microplasbial MP variants FW.CSV"
SW = "Microplasbial MP variants SW.CSV"
needs_rampp = pytest.mark.skipif(
    not RAMPP.is_dir(), reason=f"RaMPP test data not found at {RAMPP} (shared data folder absent)"
)

AXIS = [400.0, 401.5, 403.0, 404.5, 406.0]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def wide_wavenumber_text(sep: str = ",", decimal: str = ".", axis=AXIS) -> str:
    lines = [sep.join(["Wavenumber", "PS V1", "PS V2", "PET_v1"])]
    for i, x in enumerate(axis):
        values = [x, 0.1 * i, 0.2 * i, 1.0 - 0.1 * i]
        lines.append(sep.join(f"{v:g}".replace(".", decimal) for v in values))
    return "\n".join(lines) + "\n"


def as_dict(spectra):
    return {s.source.split(":", 1)[1]: s for s in spectra}


# ----------------------------------------------------------------------------- layouts


def _write_layout(root: Path, layout: str) -> Path:
    """The same three spectra (two PS, one PET on AXIS) written in ``layout``."""
    spectra = {"PS V1": [0.1 * i for i in range(5)], "PS V2": [0.2 * i for i in range(5)],
               "PET_v1": [1.0 - 0.1 * i for i in range(5)]}
    if layout == "wide_wavenumber":
        return write(root / "wide.csv", wide_wavenumber_text())
    if layout == "wide_label":
        rows = ["label," + ",".join(f"{x:g}" for x in AXIS)]
        rows += [f"{name}," + ",".join(f"{v:g}" for v in values)
                 for name, values in (("PS", spectra["PS V1"]), ("PS", spectra["PS V2"]),
                                      ("PET", spectra["PET_v1"]))]
        return write(root / "rows.csv", "\n".join(rows) + "\n")
    for name, values in spectra.items():
        label, replicate = ("PET", "1") if name.startswith("PET") else ("PS", name[-1])
        write(root / "folder" / label / f"{replicate}.txt",
              "".join(f"{x:g} {v:g}\n" for x, v in zip(AXIS, values, strict=True)))
    return root / "folder"


@pytest.mark.parametrize("layout", ["wide_wavenumber", "wide_label", "folder"])
def test_every_format_name_selects_its_loader(tmp_path, layout):
    """Each layout, loaded by its name, gives the same spectra; the import command accepts the
    name; a name that is not a format is refused with the list of formats."""
    assert layout in FORMATS  # a layout dropped from FORMATS is refused below as well
    spectra, report = load_spectra(_write_layout(tmp_path, layout), format=layout)
    assert report.loaded == 3 and report.skipped == []
    assert Counter(s.label for s in spectra) == {"PS": 2, "PET": 1}
    pet = next(s for s in spectra if s.label == "PET")
    np.testing.assert_allclose(pet.axis, AXIS)
    np.testing.assert_allclose(pet.intensity, [1.0, 0.9, 0.8, 0.7, 0.6])
    args = cli.build_parser().parse_args(["import-data", "x", "--format", layout])
    assert args.format == layout
    err = raises(_write_layout(tmp_path / "again", layout), format=layout.upper())
    assert "unknown spectra format" in err.problem and layout in err.fix


def test_a_format_name_is_obeyed_not_guessed(tmp_path):
    """Naming the other table layout reads the file that way (and fails), so the name is used."""
    path = write(tmp_path / "wide.csv", wide_wavenumber_text())
    assert len(load_spectra(path, format="wide_wavenumber")[0]) == 3
    with pytest.raises(DataError, match="no label column"):
        load_spectra(path, format="wide_label")


def test_wide_wavenumber_comma_separated(tmp_path):
    path = write(tmp_path / "spectra.csv", wide_wavenumber_text())
    spectra, report = load_spectra(path)
    assert [s.label for s in spectra] == ["PS", "PS", "PET"]
    assert [s.source for s in spectra] == ["spectra.csv:PS V1", "spectra.csv:PS V2",
                                           "spectra.csv:PET_v1"]
    assert report.loaded == 3 and report.skipped == []
    ps2 = spectra[1]
    assert ps2.axis.dtype == np.float64
    np.testing.assert_allclose(ps2.axis, AXIS)
    np.testing.assert_allclose(ps2.intensity, [0.0, 0.2, 0.4, 0.6, 0.8])


def test_semicolon_and_decimal_comma(tmp_path):
    path = write(tmp_path / "eu.csv", wide_wavenumber_text(sep=";", decimal=","))
    spectra, _ = load_spectra(path, format="wide_wavenumber")
    np.testing.assert_allclose(spectra[0].axis, AXIS)
    np.testing.assert_allclose(spectra[2].intensity, [1.0, 0.9, 0.8, 0.7, 0.6])
    table = read_table(path)
    assert list(table.index) == [2, 3, 4, 5, 6]  # file line numbers
    assert table["Wavenumber"].iloc[1] == 401.5


def test_tab_separated_latin1(tmp_path):
    text = wide_wavenumber_text(sep="\t").replace("Wavenumber", "Raman shift (cm-1)")
    text = text.replace("PET_v1", "Polyéthylène 2")
    path = write(tmp_path / "old.txt", text, encoding="latin-1")
    spectra, _ = load_spectra(path)
    assert spectra[2].label == "Polyéthylène"


def test_utf8_bom_header(tmp_path):
    path = write(tmp_path / "bom.csv", wide_wavenumber_text(), encoding="utf-8-sig")
    assert list(read_table(path).columns)[0] == "Wavenumber"  # BOM not glued to the name
    assert len(load_spectra(path)[0]) == 3


def test_descending_axis_is_reversed(tmp_path):
    path = write(tmp_path / "ftir.csv", wide_wavenumber_text(axis=AXIS[::-1]))
    spectra, report = load_spectra(path)
    np.testing.assert_allclose(spectra[0].axis, AXIS)
    np.testing.assert_allclose(spectra[1].intensity, [0.8, 0.6, 0.4, 0.2, 0.0])
    assert any("reversed" in note for note in report.notes)


def test_axis_found_as_first_monotonic_column(tmp_path):
    text = wide_wavenumber_text().replace("Wavenumber", "x")
    spectra, _ = load_spectra(write(tmp_path / "plain.csv", text))
    assert len(spectra) == 3
    spectra, _ = load_spectra(write(tmp_path / "named.csv", text.replace("x,", "nu,", 1)),
                              wavenumber_column="nu")
    assert len(spectra) == 3


def test_wide_label_layout(tmp_path):
    text = "sample;Polymer;400,5;401,5;402,5\n" "a;PA 6;1;2;3\n" "b; PS ;3;2;1\n" "c;PS;;;\n"
    spectra, report = load_spectra(write(tmp_path / "rows.csv", text))
    assert [s.label for s in spectra] == ["PA 6", "PS"]  # label cells are not suffix-stripped
    np.testing.assert_allclose(spectra[0].axis, [400.5, 401.5, 402.5])
    assert spectra[1].source == "rows.csv:line 3"
    assert {s.source for s in report.skipped} == {"rows.csv:sample", "rows.csv:line 4"}


def test_wide_label_single_text_column_and_descending_headers(tmp_path):
    text = "what,402,401,400\nPS,3,2,1\nPE,6,5,4\n"
    spectra, _ = load_spectra(write(tmp_path / "w.csv", text), format="wide_label")
    np.testing.assert_allclose(spectra[1].axis, [400, 401, 402])
    np.testing.assert_allclose(spectra[1].intensity, [4, 5, 6])


def test_folder_with_class_subfolders(tmp_path):
    write(tmp_path / "PS" / "a.txt", "Raman shift  Intensity\n100 1\n200 2\n300 3\n")
    write(tmp_path / "PS" / "b.csv", "100,1\n200,2\n300,3\n")
    write(tmp_path / "Poly ethylene" / "x.dat", "100\t5\n200\t6\n300\t7\n")
    write(tmp_path / "PS" / "notes.md", "not data")
    write(tmp_path / ".hidden" / "y.txt", "100 1\n200 2\n")
    spectra, report = load_spectra(tmp_path)
    assert sorted(s.source for s in spectra) == ["PS/a.txt", "PS/b.csv", "Poly ethylene/x.dat"]
    assert Counter(s.label for s in spectra) == {"PS": 2, "Poly ethylene": 1}
    assert [s.source for s in report.skipped] == ["PS/notes.md"]


def test_folder_labels_from_file_stems_and_decimal_comma(tmp_path):
    write(tmp_path / "PET (2).asc", "1000,5 0,25\n999,5 0,5\n998,5 0,75\n")
    write(tmp_path / "PP_v3.txt", "wavenumber;intensity\n1;2\n2;3\n")
    write(tmp_path / "broken.txt", "1 2\n2\n")
    spectra, report = load_spectra(tmp_path, format="folder")
    by_label = {s.label: s for s in spectra}
    assert set(by_label) == {"PET", "PP"}
    np.testing.assert_allclose(by_label["PET"].axis, [998.5, 999.5, 1000.5])
    np.testing.assert_allclose(by_label["PET"].intensity, [0.75, 0.5, 0.25])
    assert report.skipped[0].source == "broken.txt" and "line 2" in report.skipped[0].reason


def test_label_regex(tmp_path):
    path = write(tmp_path / "r.csv", "WN,sample-PS-01,sample-PE-02\n1,1,2\n2,3,4\n")
    spectra, _ = load_spectra(path, label_regex=r"sample-([A-Z]+)-")
    assert [s.label for s in spectra] == ["PS", "PE"]
    write(tmp_path / "dir" / "run7_PVC.txt", "1 2\n2 3\n")
    spectra, _ = load_spectra(tmp_path / "dir", label_regex=r"_(\w+)\.txt$")
    assert spectra[0].label == "PVC"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("PS V3", "PS"), ("PS_v3", "PS"), ("PS-3", "PS"), ("PS 12", "PS"), ("PS.1", "PS"),
        ("PS V2.1", "PS"), ("PET (2)", "PET"), ("PET(2)", "PET"), ("  SAN V3 ", "SAN"),
        ("Poly   amide  V1", "Poly amide"), ("PET", "PET"), ("Polyamide", "Polyamide"),
        ("PA6", "PA6"), ("PA 6 V2", "PA 6"), ("PVC", "PVC"),
    ],
)
def test_clean_label(name, label):
    assert clean_label(name) == label


# ----------------------------------------------------------------------------- warts


def test_empty_trailing_column_is_reported(tmp_path):
    text = "WN;A V1;B V1;\n1;1;2;\n2;3;4;\n3;5;6;\n"
    spectra, report = load_spectra(write(tmp_path / "t.csv", text))
    assert len(spectra) == 2
    assert [s.source for s in report.skipped] == ["t.csv:Unnamed: 3"]
    assert "empty" in report.skipped[0].reason


def test_partial_nans_dropped_or_skipped(tmp_path):
    rows = [f"{x},{x},{'' if x == 3 else x},{'' if x % 2 else x},abc" for x in range(1, 21)]
    text = "WN,full V1,gap V1,holey V1,words V1\n" + "\n".join(rows) + "\n"
    spectra, report = load_spectra(write(tmp_path / "n.csv", text))
    got = as_dict(spectra)
    assert set(got) == {"full V1", "gap V1"}
    assert got["gap V1"].axis.size == 19 and 3.0 not in got["gap V1"].axis
    assert any("gap V1" in note and "1 missing" in note for note in report.notes)
    reasons = {s.source: s.reason for s in report.skipped}
    assert "50%" in reasons["n.csv:holey V1"]
    assert "text" in reasons["n.csv:words V1"]


# ----------------------------------------------------------------------------- RaMPP


@needs_rampp
def test_rampp_counts_and_empty_column():
    fw, fw_report = load_spectra(RAMPP / FW)
    sw, sw_report = load_spectra(RAMPP / SW)
    assert len(fw) == 64 and len(sw) == 54
    assert fw_report.skipped == []
    assert len(sw_report.skipped) == 1 and "empty" in sw_report.skipped[0].reason
    assert sw_report.skipped[0].source.startswith(SW)
    counts = Counter(s.label for s in fw + sw)
    assert counts == {"PU": 14, "PC": 13, "PA": 12, "PVC": 12, "POM": 12, "ABS": 12, "PP": 10,
                      "PS": 9, "PET": 9, "SAN": 9, "PE": 6}
    for s in fw + sw:
        assert s.axis.dtype == np.float64 and np.all(np.diff(s.axis) > 0)
        assert s.axis.size == 1600 and np.isfinite(s.intensity).all()
    assert -28 < fw[0].axis[0] < -26 and 3681 < fw[0].axis[-1] < 3682


@needs_rampp
def test_rampp_references():
    refs, report = load_spectra(RAMPP / "References.CSV", format="wide_wavenumber")
    assert sorted(s.label for s in refs) == sorted(
        ["PS", "PA", "PC", "PU", "PET", "PP", "SAN", "PVC", "PE", "POM", "ABS"])
    assert report.loaded == 11


# ----------------------------------------------------------------------------- bad input


def raises(path: Path, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        load_spectra(path, **kwargs)
    return info.value


def test_empty_file(tmp_path):
    err = raises(write(tmp_path / "empty.csv", "\n  \n"))
    assert "empty.csv" in str(err) and "empty" in err.problem and err.fix


def test_header_only_and_no_numbers(tmp_path):
    err = raises(write(tmp_path / "head.csv", "WN,PS V1\n"))
    assert "no data rows" in str(err)
    err = raises(write(tmp_path / "words.csv", "WN,PS V1\nabc,def\nghi,jkl\n"))
    assert "words.csv" in str(err) and "no numeric data" in str(err)


def test_ragged_row_names_line(tmp_path):
    path = write(tmp_path / "ragged.csv", "WN,A V1,B V1\n1,2,3\n2,3,4\n3,4\n4,5,6\n")
    err = raises(path)
    assert "ragged.csv (line 4)" in str(err) and "2 fields but the header has 3" in str(err)
    assert "one value per header column" in err.fix


def test_duplicate_wavenumber_names_value_and_lines(tmp_path):
    path = write(tmp_path / "dup.csv", "WN,A V1\n100,1\n101,2\n101,3\n102,4\n")
    err = raises(path)
    assert "dup.csv (line 4, column 'WN')" in str(err)
    assert err.problem == ("duplicate wavenumber 101 (at line 3, column 'WN' and line 4, "
                           "column 'WN')")
    assert "one point per wavenumber" in err.fix


def test_every_duplicate_row_wavenumber_is_listed_after_parsing(tmp_path):
    """418 and 418.0 are the same point; every repeated value is named, not only the first."""
    text = "WN;A V1\n417;1\n418;2\n418,0;3\n419;4\n420;5\n420;6\n"
    err = raises(write(tmp_path / "dups.csv", text))
    assert err.where == "line 4, column 'WN'"
    assert err.problem.startswith("2 duplicate wavenumbers: 418 (at line 3, column 'WN' and "
                                  "line 4, column 'WN'); 420 (at line 6")


@pytest.mark.parametrize(("header", "repeats"), [
    ("label,400,418,418,419", "duplicate wavenumber 418 (at column 3 '418' and column 4 '418')"),
    ("label,400,418,418.0,419", "duplicate wavenumber 418 (at column 3 '418' and column 4 "
                                "'418.0')"),
    ("label;400;418,5;418,50;419", "duplicate wavenumber 418.5 (at column 3 '418,5' and "
                                   "column 4 '418,50')"),
])
def test_a_repeated_wavenumber_header_is_an_error_not_a_new_point(tmp_path, header, repeats):
    """pandas would rename the second 418 to 418.1 - a point that is not in the file."""
    sep = ";" if ";" in header else ","
    rows = [header] + [sep.join(["PS", "1", "2", "3", "4"]), sep.join(["PE", "4", "3", "2", "1"])]
    path = write(tmp_path / "wide.csv", "\n".join(rows) + "\n")
    for fmt in ("auto", "wide_label"):
        err = raises(path, format=fmt)
        assert err.path == str(path) and err.where == "header, line 1"
        assert err.problem == repeats
        assert "one column" in err.fix


def test_header_repeats_are_read_from_the_file_not_from_suffixes(tmp_path):
    """A real 418.1 column is a point of its own; a repeat is caught even when another column
    is literally called what pandas would rename it to."""
    ok = write(tmp_path / "ok.csv", "label,418,418.1,419\nPS,1,2,3\n")
    spectra, _ = load_spectra(ok)
    np.testing.assert_allclose(spectra[0].axis, [418, 418.1, 419])
    tricky = write(tmp_path / "tricky.csv", "label,418,418.1,418,419\nPS,1,2,3,4\n")
    err = raises(tricky)
    assert err.problem == "duplicate wavenumber 418 (at column 2 '418' and column 4 '418')"
    assert "418.1 (" not in err.problem and read_table(tricky).attrs["header"] == [
        "label", "418", "418.1", "418", "419"]


def test_several_repeated_header_wavenumbers_are_all_named(tmp_path):
    header = "label," + ",".join(["400", "401", "401", "402", "403", "403", "403"])
    err = raises(write(tmp_path / "w.csv", header + "\nPS" + ",1" * 7 + "\n"))
    assert err.problem == ("2 duplicate wavenumbers: 401 (at column 3 '401' and column 4 "
                           "'401'); 403 (at column 6 '403' and column 7 '403' and column 8 "
                           "'403')")


@pytest.mark.parametrize(("text", "kind", "fmt"), [
    ("WN,PS V1,WN\n1,1,2\n2,2,3\n3,3,4\n", "wavenumber", "auto"),
    ("polymer,polymer,400,401\nPS,PS,1,2\nPE,PE,3,4\n", "label", "wide_label"),
])
def test_a_repeated_axis_or_label_column_header_is_an_error(tmp_path, text, kind, fmt):
    """Which of two 'WN' (or 'polymer') columns is meant cannot be told."""
    err = raises(write(tmp_path / "t.csv", text), format=fmt)
    assert err.where == "header, line 1"
    assert err.problem.startswith(f"the {kind} column header ")
    assert "appears 2 times, in columns 1" in err.problem
    assert f"keep one {kind} column" in err.fix


def test_a_repeated_wavenumber_in_a_folder_file_stops_the_load(tmp_path):
    """Not skipped like a file that is not a spectrum: the file is a spectrum whose points
    cannot be placed, and leaving it out would shift the class balance unnoticed."""
    write(tmp_path / "PS" / "a.txt", "100 1\n200 2\n300 3\n")
    bad = write(tmp_path / "PS" / "b.txt", "100 1\n200 2\n200.0 5\n300 3\n")
    err = raises(tmp_path)
    assert err.path == str(bad) and err.where == "line 3"
    assert err.problem == "duplicate wavenumber 200 (at line 2 and line 3)"


def test_unsorted_axis_names_line(tmp_path):
    path = write(tmp_path / "order.csv", "WN,A V1\n100,1\n101,2\n99,3\n102,4\n")
    err = raises(path, format="wide_wavenumber", wavenumber_column="WN")
    assert err.where == "line 4, column 'WN'" and "99 follows 101" in err.problem
    assert "sort" in err.fix
    err = raises(write(tmp_path / "hdr.csv", "label,1,3,2\nPS,1,2,3\n"))
    assert "hdr.csv (header of column '2')" in str(err)


def test_non_numeric_axis_value(tmp_path):
    err = raises(write(tmp_path / "ax.csv", "WN,A V1\n1,1\n2,2\nthree,3\n4,4\n5,5\n"))
    assert "line 4" in str(err) and "missing or non-numeric" in str(err)


def test_unknown_format_missing_path_and_bad_options(tmp_path):
    err = raises(tmp_path, format="long")
    assert "'long'" in str(err) and all(name in err.fix for name in FORMATS)
    err = raises(tmp_path / "nope.csv")
    assert "nope.csv" in str(err) and "no such file" in str(err)
    path = write(tmp_path / "ok.csv", wide_wavenumber_text())
    assert "'cm'" in str(raises(path, wavenumber_column="cm"))
    assert "'kind'" in str(raises(path, format="wide_label", label_column="kind"))
    assert "regular expression" in str(raises(path, label_regex="(unclosed"))
    assert "needs a folder" in str(raises(path, format="folder"))


def test_folder_without_usable_files(tmp_path):
    write(tmp_path / "readme.md", "hello")
    write(tmp_path / "one.txt", "1 2 3\n")
    err = raises(tmp_path)
    assert str(tmp_path) in str(err) and "no usable spectra" in err.problem
    assert "readme.md" in err.fix and "one.txt" in err.fix
    empty = tmp_path / "void"
    empty.mkdir()
    assert "sub-folder per class" in raises(empty).fix


def test_ambiguous_table_layout(tmp_path):
    err = raises(write(tmp_path / "amb.csv", "name,a,b\nx,3,1\ny,1,2\nz,2,9\n"))
    assert "--format wide_wavenumber" in err.fix and "--format wide_label" in err.fix


def test_the_fixes_name_the_command_line_options_that_work(tmp_path):
    """Following a Fix: the option it names exists on import-data and resolves the error."""
    parser = cli.build_parser()
    path = write(tmp_path / "t.csv", "PS V2,nu,PS V1\n5,1,1\n3,2,2\n4,3,9\n")
    err = raises(path, format="wide_wavenumber")
    assert "--wavenumber-column NAME" in err.fix
    args = parser.parse_args(["import-data", str(path), "--wavenumber-column", "nu"])
    spectra, _ = load_spectra(path, format="wide_wavenumber",
                              wavenumber_column=args.wavenumber_column)
    assert [s.label for s in spectra] == ["PS", "PS"]
    rows = write(tmp_path / "rows.csv", "sample,kind,400,401\na,PS,1,2\nb,PE,3,4\n")
    err = raises(rows, format="wide_label")
    assert "--label-column NAME" in err.fix
    args = parser.parse_args(["import-data", str(rows), "--label-column", "kind"])
    spectra, _ = load_spectra(rows, format="wide_label", label_column=args.label_column)
    assert [s.label for s in spectra] == ["PS", "PE"]
    err = raises(path, format="folder")
    assert "--format folder" in err.fix and "--format wide_wavenumber" in err.fix


def test_binary_file(tmp_path):
    path = tmp_path / "spec.csv"
    path.write_bytes(b"\x00\x01\x02binary")
    assert "binary" in str(raises(path))


def test_headerless_single_file_takes_label_from_file_name(tmp_path):
    spectra, _ = load_spectra(write(tmp_path / "PS_01.txt", "100 1\n200 2\n300 3\n"))
    assert [(s.label, s.source) for s in spectra] == [("PS", "PS_01.txt:column 2")]
    assert read_table(tmp_path / "PS_01.txt").attrs["named_columns"] is False


def test_repeated_spectrum_headers_are_mangled_like_pandas_and_reported(tmp_path):
    path = write(tmp_path / "q.csv", 'WN,"PS V1","PS V1"\r\n1,"2",3\r\n2,3,4\r\n')
    spectra, report = load_spectra(path)
    assert [s.source for s in spectra] == ["q.csv:PS V1", "q.csv:PS V1.1"]
    assert {s.label for s in spectra} == {"PS"}
    assert report.notes == ["q.csv: columns 2 ('PS V1') and 3 ('PS V1') share the header "
                            "'PS V1'; read as 2 spectra ('PS V1', 'PS V1.1')"]


def test_a_renamed_repeat_never_overwrites_a_column_of_that_name(tmp_path):
    """PS, PS, PS.1: pandas-style renaming must not give two columns the name PS.1."""
    path = write(tmp_path / "c.csv", "WN,PS,PS,PS.1\n1,1,2,3\n2,2,3,4\n")
    assert list(read_table(path).columns) == ["WN", "PS", "PS.1", "PS.1.1"]
    spectra, _ = load_spectra(path)
    assert [s.intensity[0] for s in spectra] == [1, 2, 3] and {s.label for s in spectra} == {"PS"}
