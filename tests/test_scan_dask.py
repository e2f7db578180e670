"""``phi-review scan --dask ADDRESS`` on a LocalCluster: the same CSVs, byte for byte, as the local pool's."""

from __future__ import annotations

from pathlib import Path

import pytest

from phi_review.core.common.errors import PhiReviewError
from phi_review.tui.cli import main

from scan_tree import build_tree

distributed = pytest.importorskip("distributed")


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}


def test_a_local_cluster_writes_what_the_pool_writes(tmp_path: Path) -> None:
    coll = build_tree(tmp_path)
    local, remote = tmp_path / "local" / "Collection", tmp_path / "dask" / "Collection"
    assert main(["scan", str(coll), "--out", str(local), "--no-ocr", "--quiet"]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert main(["scan", str(coll), "--out", str(remote), "--no-ocr", "--quiet", "--dask", address]) == 0
    assert _snapshot(remote) == _snapshot(local) and len(_snapshot(local)) == 3


def test_an_address_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    from phi_review.core.scan.checks import Options
    from phi_review.core.scan.dask_runner import run_dask

    with pytest.raises(PhiReviewError, match="cannot reach the Dask scheduler"):
        list(run_dask("tcp://127.0.0.1:9", [], Options(ocr=False), connect_timeout=2))
