"""The docs a newcomer reads: a short README that links one page per study, and no link that leads nowhere."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", markdown.read_text(), flags=re.S)  # a '# comment' in a code block is no heading
    return {slug(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}


def test_the_slug_is_githubs():
    assert slug("Path integrators on SO(3) x SO(3) (issue 3)") == "path-integrators-on-so3-x-so3-issue-3"
    assert slug("Tree World: does a drive-based forager outlive a random one?") == \
        "tree-world-does-a-drive-based-forager-outlive-a-random-one"


def test_the_readme_is_short_and_links_every_study_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 300
    linked = {Path(target).name for target in LINK.findall(readme) if target.startswith("docs/")}
    assert {page.name for page in PAGES} <= linked | {"pretrained.md"}
    assert "docs/pretrained.md" in readme


@pytest.mark.parametrize("document", [ROOT / "README.md", ROOT / "RESULTS.md", *PAGES], ids=lambda p: p.name)
def test_every_relative_link_and_anchor_exists(document):
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    assert not broken, f"{document.name}: {broken}"
