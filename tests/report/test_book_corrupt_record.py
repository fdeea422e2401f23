"""Issue 16, case 2 in the book: a truncated record no longer fails the pages (it failed 9
of 10 with an empty "PapermillExecutionError: " message)."""

from __future__ import annotations

import nbformat
import pytest
from test_book import _store

from hashlib_core.report.book import PAGES, build_notebooks
from hashlib_core.results import RECORD, load_results


@pytest.mark.slow
def test_pages_execute_with_a_corrupt_record(tmp_path):
    root = tmp_path / "results"
    _store(root, [("csq", 32, 0, 0.85, None), ("csq", 64, 0, 0.85, None),
                  ("shnet", 32, 0, 0.9, None)])
    path = root / "smoke" / "cifar10-smoke" / "csq" / "64b_seed0" / RECORD
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])
    with pytest.warns(UserWarning, match=str(path)):
        assert load_results("smoke", root=root).attrs["skipped_records"][0].startswith(str(path))
    pages = tuple(p for p in PAGES if p.name in ("results_cifar10", "curves"))
    failed = build_notebooks("smoke", root=root, out=tmp_path / "generated", pages=pages,
                             verbose=False)
    assert failed == {}
    # each page says how many runs it left out, and which (no absolute path)
    for page in pages:
        nb = nbformat.read(tmp_path / "generated" / f"{page.name}.ipynb", as_version=4)
        notes = [c.source for c in nb.cells if c.cell_type == "markdown" and "could not be read" in c.source]
        assert len(notes) == 1, page.name
        assert "1 stored run of this scale" in notes[0]
        assert "`smoke/cifar10-smoke/csq/64b_seed0/record.json`" in notes[0]
        assert str(tmp_path) not in notes[0]


def test_the_page_note_names_a_wrongly_typed_record(tmp_path):
    """A record that reads as JSON but fails validation (issue 29: n_bits a string) is
    left out of the pages, and their note names it, as it names a truncated one."""
    import json

    from hashlib_core.report.book import unreadable_note

    root = tmp_path / "results"
    _store(root, [("csq", 32, 0, 0.85, None), ("shnet", 32, 0, 0.9, None)])
    assert unreadable_note("smoke", root) == ""
    path = root / "smoke" / "cifar10-smoke" / "csq" / "32b_seed0" / RECORD
    rec = json.loads(path.read_text())
    rec["key"]["n_bits"] = "thirty-two"
    path.write_text(json.dumps(rec))
    note = unreadable_note("smoke", root)
    assert "1 stored run of this scale" in note
    assert "`smoke/cifar10-smoke/csq/32b_seed0/record.json`" in note
