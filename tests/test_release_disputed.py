"""A row the second pass disputes holds its file back from a release until the dispute is resolved."""

from __future__ import annotations

import json
from pathlib import Path

from release_tree import DELETE, META, cli, release_args, reviewed_tree


def test_a_disputed_row_is_held_and_a_confirmed_one_is_released(tmp_path: Path) -> None:
    world = reviewed_tree(tmp_path / "w")
    names = world["names"]
    code, _out, err = cli("decide", "--second-pass", str(world["report"]), names[META], "No Issue",
                          "--reviewer", "rev2", "--note", "the value is the scanner's, not the patient's")
    assert code == 0, err
    code, _out, err = cli("decide", "--second-pass", str(world["report"]), names[DELETE], "Needs Deletion",
                          "--reviewer", "rev2")
    assert code == 0, err
    pkg = tmp_path / "pkg"
    code, out, err = cli(*release_args(world, pkg, "--partial"))
    assert code == 0, err
    released = sorted(str(p.relative_to(pkg)) for p in pkg.rglob("*.dcm"))
    assert released == [names[DELETE]]  # confirmed: released; disputed: held
    lines = [json.loads(line) for line in (pkg / "release-manifest.jsonl").read_text().splitlines()]
    held = [line for line in lines if line.get("status") == "held" and line.get("file", "").endswith(META)
            or (line.get("status") == "held" and META in json.dumps(line))]
    assert held and "disputed in the second pass" in json.dumps(held)
    assert "scanner" not in (pkg / "release-manifest.jsonl").read_text()  # the dispute's note stays out
