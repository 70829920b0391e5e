"""Tests of the build's pieces that need no compiler: the entry module, and
where the repository's WIT is found. Building itself is checked from
plugins/sdk-js/test-components."""

from pathlib import Path

import pytest

from halo_sdk import build


def test_the_entry_exports_the_guest_of_the_views_module():
    source = build.entry_source("notes")
    assert "import notes as _view_module" in source
    assert "Guest = make_guest(_view_module)" in source


def test_the_wit_is_the_repositorys_0_2_0():
    root = build.find_wit_root()
    assert (root / build.WIT_SUBDIR / "view.wit").read_text().count("package halo:view@0.2.0;") == 1


def test_no_wit_above_a_folder_stops_the_build(tmp_path: Path):
    with pytest.raises(SystemExit, match="no wit/view.wit"):
        build.find_wit_root(tmp_path)


def test_a_view_must_be_a_python_file(tmp_path: Path):
    with pytest.raises(SystemExit, match="not a Python file"):
        build.build(tmp_path / "view.js", tmp_path / "out.wasm")
