"""Write the generated reference pages: docs/settings.md (every config setting and its default)
and docs/network_list.md (every registered network). Run after changing either:

    python docs/generate.py

tests/test_docs.py fails when a page differs from what this writes."""
from pathlib import Path

from jpeg_deep.config.schema import settings_markdown
from jpeg_deep.networks import networks_markdown

DOCS = Path(__file__).resolve().parent
PAGES = {"settings.md": settings_markdown, "network_list.md": networks_markdown}

if __name__ == "__main__":
    for name, make in PAGES.items():
        (DOCS / name).write_text(make())
        print(f"written {DOCS / name}")
