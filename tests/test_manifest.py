"""pretrained/manifest.json names every shipped file, the kind cogmap.load makes of it, and where its figures are reported."""

import pytest

from cogmap.files import load_torch_file
from cogmap.loading import KINDS, kind_of
from tests.manifest import PRETRAINED, manifest
from tests.test_docs import ROOT, anchors

FILES = manifest()["files"]


def test_every_shipped_file_is_in_the_manifest_and_nothing_else():
    shipped = {str(p.relative_to(PRETRAINED)) for p in PRETRAINED.rglob("*") if p.is_file() and p.name != "manifest.json"}
    assert shipped == set(FILES)
    assert manifest()["format"] == "cogmap-pretrained-manifest" and manifest()["version"] == 1


@pytest.mark.parametrize("path", sorted(FILES))
def test_each_entry_says_its_kind_its_figures_and_where_they_are_reported(path):
    entry = FILES[path]
    assert entry["kind"] in KINDS and entry["kind"] == kind_of(load_torch_file(PRETRAINED / path), path)
    assert entry["figures"] and entry["measured"]
    document, _, anchor = entry["results"].partition("#")
    assert (ROOT / document).is_file()
    assert not anchor or anchor in anchors(ROOT / document), entry["results"]
