"""Spectra loaders: every layout, the file-format guesses, label clean-up, real RaMPP files
and the errors a person sees for broken input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from gansemble_lib.errors import DataError
from gansemble_lib.spectra_io import FORMATS, clean_label, load_spectra, read_table

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


def test_formats_constant():
    assert FORMATS == ("wide_wavenumber", "wide_label", "folder")


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


def test_duplicate_wavenumber_names_value_and_line(tmp_path):
    path = write(tmp_path / "dup.csv", "WN,A V1\n100,1\n101,2\n101,3\n102,4\n")
    err = raises(path)
    assert "dup.csv (line 4, column 'WN')" in str(err)
    assert "duplicate wavenumber 101" in str(err) and "line 3" in err.fix


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
    assert "wide_wavenumber" in err.fix and "wide_label" in err.fix


def test_binary_file(tmp_path):
    path = tmp_path / "spec.csv"
    path.write_bytes(b"\x00\x01\x02binary")
    assert "binary" in str(raises(path))


def test_headerless_single_file_takes_label_from_file_name(tmp_path):
    spectra, _ = load_spectra(write(tmp_path / "PS_01.txt", "100 1\n200 2\n300 3\n"))
    assert [(s.label, s.source) for s in spectra] == [("PS", "PS_01.txt:column 2")]
    assert read_table(tmp_path / "PS_01.txt").attrs["named_columns"] is False


def test_repeated_headers_are_mangled_like_pandas(tmp_path):
    path = write(tmp_path / "q.csv", 'WN,"PS V1","PS V1"\r\n1,"2",3\r\n2,3,4\r\n')
    spectra, _ = load_spectra(path)
    assert [s.source for s in spectra] == ["q.csv:PS V1", "q.csv:PS V1.1"]
    assert {s.label for s in spectra} == {"PS"}
