"""The README and docs/ stand on their own: a clone has every file they point to."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")  # [text](target)
CODE = re.compile(r"`([^`\n]+)`")


def local_targets(path: Path) -> list[str]:
    """Link targets that are files, not web addresses or anchors in the same page."""
    text = path.read_text()
    targets = [t.split("#", 1)[0] for t in LINK.findall(text)]
    return [t for t in targets if t and not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def test_every_linked_path_is_a_file_in_the_repository():
    for doc in DOCS:
        for target in local_targets(doc):
            where = (doc.parent / target).resolve()
            assert where.is_relative_to(REPO), f"{doc.name} links {target}, outside the repository"
            assert where.exists(), f"{doc.name} links {target}, which is not there"


def test_no_path_outside_the_repository_is_named_in_code_either():
    for doc in DOCS:
        for code in CODE.findall(doc.read_text()):
            assert "../" not in code, f"{doc.name} names {code}, outside the repository"


def test_the_readme_points_to_the_brief_format():
    assert "docs/brief-format.md" in local_targets(REPO / "README.md")
    text = (REPO / "docs" / "brief-format.md").read_text()
    for heading in ("What happened", "Technical details", "Why it matters", "What to watch next"):
        assert heading in text
    assert "_brief" in text and "untagged" in text
