"""The documentation stays true: the generated reference pages match what the code says, every
relative link in the README and docs/ reaches a file, and the README stays a front page."""
import re
import runpy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = runpy.run_path(str(REPO / "docs" / "generate.py"))["PAGES"]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_generated_pages_match_the_code(name):
    page = REPO / "docs" / name
    assert page.is_file(), f"docs/{name} is missing: run python docs/generate.py"
    assert page.read_text() == PAGES[name](), (
        f"docs/{name} differs from the code: run python docs/generate.py")


def _pages():
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_reach_files(page):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor of the same page
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)} links to missing files: {broken}"


def test_readme_is_a_front_page():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move details to docs/"
    text = "\n".join(lines)
    assert "make demo" in text and "make test" in text
