"""Look at the report as a reader does: headless Chromium screenshots of reports/report.html.

Usage (after `make reproduce`; needs a Chromium, e.g. `apt-get install chromium`):
    python benchmarks/bench_report_screenshot.py [--html reports/report.html]

Renders the page at 1280 px wide in headless Chromium and writes the top of it and the whole
page (`benchmarks/results/report_top.png`, `report_full.png`), then checks the HTML for what a
reader should never see: code cells, `In[…]`/`Out[…]` prompts, raw Python reprs, relative links
that point nowhere. Prints what it found and exits 1 when something is wrong.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path("benchmarks/results")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


def problems(html: str, base: Path) -> list[str]:
    """What a reader should not see in the page."""
    found = []
    body = html.split("<body", 1)[-1]  # the style sheet names every class
    if re.search(r'class="[^"]*(jp-InputArea-editor|jp-CodeMirrorEditor)', body):  # code
        found.append("code cells are shown")
    if re.search(r"(In|Out)\s*\[\s*\d*\s*\]:", body):
        found.append("In[…]/Out[…] prompts are shown")
    if re.search(r"&lt;(IPython|matplotlib|Figure)[^&]*&gt;", body):
        found.append("a raw Python object repr is shown")
    for link in re.findall(r'href="([^"#:]+)"', body):
        if not (base / link).exists():
            found.append(f"broken relative link: {link}")
    headings = re.findall(r"<h2[^>]*>(.*?)<", html)
    if len(headings) < 5:
        found.append(f"only {len(headings)} section headings")
    return found


def screenshot(browser: str, html: Path, out: Path, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu",
                        f"--user-data-dir={profile}", "--hide-scrollbars",
                        f"--window-size=1280,{height}", f"--screenshot={out.resolve()}",
                        html.resolve().as_uri()], check=True, capture_output=True, timeout=180)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", default="reports/report.html")
    args = parser.parse_args()
    html = Path(args.html)
    if not html.is_file():
        raise SystemExit(f"no {html}: run `make reproduce` first")
    text = html.read_text(encoding="utf-8")
    found = problems(text, html.parent)
    headings = re.findall(r"<h2[^>]*>(.*?)<", text)
    print(f"{html}: {len(text) / 1e6:.1f} MB, {len(headings)} sections: " + " | ".join(headings))
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        print("no Chromium found (apt-get install chromium): screenshots skipped")
    else:
        RESULTS.mkdir(parents=True, exist_ok=True)
        screenshot(browser, html, RESULTS / "report_top.png", 1600)
        screenshot(browser, html, RESULTS / "report_full.png", 16000)
        print(f"screenshots: {RESULTS}/report_top.png, {RESULTS}/report_full.png ({browser})")
    for problem in found:
        print(f"problem: {problem}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
