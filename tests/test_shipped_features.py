"""Tests for protlab.data.shipped_features: the shipped table is ProtParam's, and never a stale one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from Bio.SeqUtils.ProtParam import ProteinAnalysis

from protlab.data import features_frame, load_bundled
from protlab.data import shipped_features as bf
from protlab.data.features import GLOBAL_COLUMNS

REBUILD = 'python -c "from protlab.data.shipped_features import rebuild_shipped; rebuild_shipped()"'


@pytest.fixture
def small_csv(tmp_path):
    """A twelve-protein labelled file standing in for the bundled data."""
    data, _ = load_bundled()
    path = tmp_path / "twelve.csv"
    pd.DataFrame({"sequence": data.sequences[:12], "label": data.labels[:12]}).to_csv(path, index=False)
    return path


def test_the_shipped_table_is_the_bundled_datas_protparam_features() -> None:
    path = bf.shipped_path()
    assert path.exists(), f"No features are shipped for the current deepsol.csv; rebuild them: {REBUILD}"
    shipped = bf.bundled_features()
    data, _ = load_bundled()
    computed = features_frame(data.sequences)[GLOBAL_COLUMNS]
    assert list(shipped.columns) == GLOBAL_COLUMNS and len(shipped) == len(data.sequences)
    np.testing.assert_allclose(shipped.to_numpy(), computed.to_numpy(), rtol=1e-8, atol=1e-9)
    # spot check against Biopython itself, not only against protlab's own feature code
    for row in (0, 1234, len(data.sequences) - 1):
        analysis = ProteinAnalysis(data.sequences[row])
        assert shipped["molecular_weight"][row] == pytest.approx(analysis.molecular_weight(), rel=1e-8)
        assert shipped["isoelectric_point"][row] == pytest.approx(analysis.isoelectric_point(), rel=1e-8)
        assert shipped["gravy"][row] == pytest.approx(analysis.gravy(), rel=1e-8, abs=1e-9)


def test_other_data_is_computed_not_read_from_the_shipped_table(small_csv) -> None:
    assert not bf.shipped_path(small_csv).exists()
    got = bf.bundled_features(small_csv)
    data, _ = load_bundled()
    expected = features_frame(data.sequences[:12])[GLOBAL_COLUMNS]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))


def test_rebuild_writes_a_readable_table_and_drops_stale_ones(small_csv, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(bf, "SHIPPED_DIR", tmp_path / "features")
    (tmp_path / "features").mkdir()
    stale = tmp_path / "features" / "0000.csv"
    stale.write_text("length\n1\n")
    path = bf.rebuild_shipped(small_csv)
    assert path == bf.shipped_path(small_csv) and path.exists() and not stale.exists()
    assert not list(path.parent.glob(".*.tmp"))  # written atomically: no temporary file left behind
    monkeypatch.setattr(bf, "_compute", lambda _: pytest.fail("computed although a table is shipped"))
    got = bf.bundled_features(small_csv)
    data, _ = load_bundled()
    expected = features_frame(data.sequences[:12])[GLOBAL_COLUMNS]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-8)


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe", b"length,gravy\n1,2\n"])
def test_a_damaged_or_outdated_table_is_ignored(content: bytes, small_csv, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(bf, "SHIPPED_DIR", tmp_path / "features")
    (tmp_path / "features").mkdir()
    bf.shipped_path(small_csv).write_bytes(content)
    got = bf.bundled_features(small_csv)
    assert list(got.columns) == GLOBAL_COLUMNS and len(got) == 12 and not got.isna().any().any()
