"""The README and the operator's handbook send readers only to places that exist: every
relative link names a file of the repository (and, with `#…`, a heading of it), and every
section the README names in quotes ("see "Metrics"") is one of its headings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", REPO / "docs" / "operations.md"]

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)
NAMED_SECTION = re.compile(r"\b(?:[Ss]ee|under) \"([^\"]+)\"")


def prose(path: Path) -> str:
    """The document without its code blocks, where `#` lines and `](` are not markdown."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(prose(path)):
        slug = anchor(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    text = INLINE_CODE.sub("", prose(path))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def test_the_anchor_of_a_heading_is_githubs() -> None:
    assert anchor("Backup, restore and upgrade") == "backup-restore-and-upgrade"
    assert anchor("`alertfold status` and `/health`") == "alertfold-status-and-health"
    assert anchor("From Alert Bridge") == "from-alert-bridge"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_names_a_file_and_heading_that_exist(doc: Path) -> None:
    broken = []
    for target in relative_links(doc):
        file_part, _, fragment = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(REPO)}")
        elif fragment and fragment not in anchors(linked):
            broken.append(f"{target}: no heading #{fragment} in {linked.relative_to(REPO)}")
    assert not broken, f"{doc.name}: " + "; ".join(broken)


def test_every_section_the_readme_names_is_one_of_its_headings() -> None:
    readme = REPO / "README.md"
    headings = {h.replace("`", "") for h in HEADING.findall(prose(readme))}
    named = NAMED_SECTION.findall(re.sub(r"\s+", " ", prose(readme)))
    missing = sorted({name for name in named if name not in headings})
    assert named and not missing, f"README names sections it does not have: {missing}"
