"""The README stays short, complete and linked; CITATION.cff says what to cite."""

import re

import yaml

from tests.conftest import REPO

README = REPO / "README.md"
MAX_LINES = 250
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _make_targets() -> list[str]:
    """Every Makefile target with a ``## help`` text (what `make help` lists)."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    return re.findall(r"^([a-zA-Z_-]+):.*?## ", makefile, flags=re.MULTILINE)


def test_readme_is_at_most_250_lines():
    lines = len(_readme().splitlines())
    assert lines <= MAX_LINES, (f"README.md has {lines} lines; move details to docs/ "
                                f"(at most {MAX_LINES})")


def test_readme_names_every_make_target():
    targets = _make_targets()
    assert "reproduce" in targets and "test" in targets
    readme = _readme()
    missing = [t for t in targets if not re.search(rf"`make {re.escape(t)}`", readme)]
    assert not missing, f"README.md does not mention {', '.join(f'make {t}' for t in missing)}"


def test_readme_names_every_benchmark():
    benchmarks = sorted(p.relative_to(REPO).as_posix()
                        for p in (REPO / "benchmarks").glob("*.py"))
    assert benchmarks
    readme = _readme()
    missing = [b for b in benchmarks if b not in readme]
    assert not missing, f"README.md does not mention {', '.join(missing)}"


def _relative_links(path):
    links = LINK.findall(path.read_text(encoding="utf-8"))
    return [link for link in links if not link.startswith(("http://", "https://", "#",
                                                           "mailto:"))]


def test_readme_relative_links_point_to_files_in_the_repo():
    links = _relative_links(README)
    assert links
    broken = [link for link in links
              if not (README.parent / link.split("#", 1)[0]).exists()]
    assert not broken, f"README.md links to missing files: {broken}"


def test_docs_and_results_links_point_to_files_in_the_repo():
    pages = [REPO / "RESULTS.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = [f"{page.relative_to(REPO)}: {link}" for page in pages
              for link in _relative_links(page)
              if not (page.parent / link.split("#", 1)[0]).exists()]
    assert not broken, f"links to missing files: {broken}"


def test_readme_links_every_doc_page():
    readme = _readme()
    for page in sorted((REPO / "docs").glob("*.md")):
        assert f"](docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


def test_readme_sections_come_in_order():
    readme = _readme()
    headings = ["## Two commands", "## The answer so far", "## Run it on your own data",
                "## Check a rerun", "## Map", "## Where the time goes",
                "## Make targets and benchmarks", "## Citation and data sources"]
    positions = [readme.index(h) for h in headings]
    assert positions == sorted(positions)


def test_citation_cff_names_the_papers_and_the_data():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "license", "references"):
        assert cff.get(key), f"CITATION.cff lacks {key}"
    assert cff["authors"] == [{"name": "GANsemble compendium contributors"}]
    assert cff["license"] == "MIT"
    for reference in cff["references"]:
        assert {"type", "title", "authors"} <= set(reference), reference
    text = {r["title"]: r for r in cff["references"]}
    gansemble = next(r for t, r in text.items() if "GANsemble" in t)
    assert "2404.07356" in str(gansemble)
    vae = next(r for t, r in text.items() if "Synthetic Data Augmentation" in t)
    assert "2409.10286" in str(vae)
    rampp = next(r for t, r in text.items() if "RaMPP" in t)
    assert rampp["type"] == "data" and rampp["license"] == "CC-BY-4.0"
    assert "10.3390/d12040147" in str(rampp)
