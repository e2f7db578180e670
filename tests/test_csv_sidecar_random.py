"""Randomized: whatever the validator CSV's bytes, saves leave it as it is and its copy is taken back as its own.

Each case writes a validator-layout CSV in one encoding, BOM, line ending and
quoting, with stray long or ragged records, makes a few sessions of decisions
and saves, then checks: the original is byte-identical; the copy is the original
with our cells spliced in (every record not decided keeps its bytes); reopening
reads every decision; and without the digests file the row comparison alone
still takes the copy (it must never refuse a copy a save of ours wrote), while
changing one cell of the original makes it refuse.
"""

from __future__ import annotations

import csv
import io
import os
import random
from pathlib import Path

import pytest

from phi_review.core.common.errors import ReportError
from phi_review.core.report.csv_report import split_records_exact
from phi_review.core.report.csv_reviewed import rows_match
from phi_review.core.report.reader import read_report
from phi_review.core.review.session import ReviewSession

from test_csv_sidecar_summarizer import DEFAULT, summarize

HEADER = ["Site ID", "Event ID", "File Name", "Profile", "Score", "Findings", "Details"]
HEADER_EVENT = ["Site ID", "Event ID", "File Name", "Score", "Findings", "Details"]
ENCODINGS = [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("latin-1", b""), ("utf-16-le", b"\xff\xfe"),
             ("utf-16-be", b"\xfe\xff")]


def _case(rng: random.Random, folder: Path) -> tuple[Path, bytes, str, bytes]:
    header = rng.choice([HEADER, HEADER_EVENT])
    codec, bom = rng.choice(ENCODINGS)
    newline = rng.choice(["\r\n", "\n"])
    quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
    alphabet = "ab \u00e9\u00ff\",;\n\u00ab\u00bb" + ("\u5c71\U0001f648" if codec != "latin-1" else "")
    rows = [header]
    for i in range(rng.randrange(3, 40)):
        row = ["S1", f"E{i % 3}", f"f{i}.dcm", "CT", "1.0", "Possible PHI/PII in Header"][: len(header) - 1]
        row.append("(0010,0010) \u00ab" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 15))) + "\u00bb")
        rows.append(row)
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=newline, quoting=quoting).writerows(rows)
    text = out.getvalue()
    if rng.random() < 0.5:  # the last record without its line ending
        text = text[: -len(newline)]
    data = bom + text.encode(codec)
    path = folder / f"Site{rng.randrange(1000)}.csv"
    path.write_bytes(data)
    return path, data, codec, bom


@pytest.mark.parametrize("seed", range(40))
def test_saves_keep_the_original_and_their_copy_is_taken_back(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    (tmp_path / "reports" / "COLL").mkdir(parents=True)
    path, original, codec, bom = _case(rng, tmp_path / "reports" / "COLL")
    count = len(read_report(path).findings)
    # The validator's summarizer reads 7 fields of UTF-8 (1.0.x); where it can read the file, it still can.
    summarizer = os.environ.get("PHI_REVIEW_SUMMARIZER", DEFAULT)
    readable = codec == "utf-8" and read_report(path).headers == HEADER and os.access(summarizer, os.X_OK)
    before = summarize(summarizer, tmp_path / "reports", tmp_path / "before.csv") if readable else b""
    decided: dict[int, str] = {}
    for _ in range(rng.randrange(1, 4)):
        with ReviewSession.open(path, reviewer="rev") as session:
            picks = rng.sample(range(count), rng.randrange(1, min(count, 5) + 1))
            note = rng.choice([None, "ok", "=1+1", "\u00e9t\u00e9", "two\nlines", 'a "quote", here'])
            session.decide(picks, session.actions[rng.randrange(len(session.actions))], note=note)
            for index in picks:
                decided[index] = session.findings[index].action
            session.save()
    assert path.read_bytes() == original
    if readable:
        assert summarize(summarizer, tmp_path / "reports", tmp_path / "after.csv") == before
    copy = path.with_name(f".{path.name}.reviewed")
    reviewed = copy.read_bytes()
    again = read_report(path)
    assert {i: f.action for i, f in enumerate(again.findings) if f.action} == decided
    # Record by record: an undecided record keeps its bytes, a decided one gains fields after its own.
    assert reviewed.startswith(bom) and not reviewed[len(bom):].startswith(bom or b"-")
    old_text, new_text = original[len(bom):].decode(codec), reviewed[len(bom):].decode(codec)
    old_records, new_records = split_records_exact(old_text, ","), split_records_exact(new_text, ",")
    assert len(old_records) == len(new_records)
    rows = {again.findings[i].row - 1 for i in decided} | {0}
    for number, (a, b) in enumerate(zip(old_records, new_records)):
        if number in rows:
            assert new_text[b[0]:b[1]].startswith(old_text[a[0]:a[1]] + ",")
            assert new_text[b[1]:b[2]] == old_text[a[1]:a[2]]
        else:
            assert new_text[b[0]:b[2]] == old_text[a[0]:a[2]]
    # The row comparison alone takes what we wrote, and refuses one changed cell of the original.
    assert rows_match(original, reviewed, path.name)
    path.with_name(f".{path.name}.reviewed.json").unlink()
    assert len(read_report(path).findings) == count
    changed = original.replace("f1.dcm".encode(codec), "f9.dcm".encode(codec), 1)
    assert changed != original
    path.write_bytes(changed)
    with pytest.raises(ReportError, match="changed since its reviewed copy"):
        read_report(path)
