"""Under CI a test skipped for a missing tool fails the run (conftest.py): a green CI cannot hide a missing install."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SAMPLE = '''
import pytest

@pytest.mark.skipif(True, reason="frobnicator is not installed")
def test_needs_a_tool():
    pass

@pytest.mark.skipif(True, reason="only on Tuesdays")
def test_skipped_for_another_reason():
    pass
'''


def _run(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    folder = tmp_path / "suite"
    folder.mkdir(exist_ok=True)
    shutil.copy(Path(__file__).with_name("conftest.py"), folder / "conftest.py")
    (folder / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_a_missing_tool_fails_under_ci_and_skips_elsewhere(tmp_path):
    under_ci = _run(tmp_path, ci=True)
    assert under_ci.returncode != 0 and "required under CI" in under_ci.stdout
    assert "1 skipped" in under_ci.stdout  # a skip for another reason stays a skip
    assert _run(tmp_path, ci=False).returncode == 0
