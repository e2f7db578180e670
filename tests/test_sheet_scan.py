"""The sheet patcher scans a large sheet in windows (so a save in a worker never holds the GIL long):
windowed find and count must agree with bytes.find and bytes.count everywhere, window edges included."""

from __future__ import annotations

import random

from phi_review.core.report import byte_scan


def test_windowed_scans_agree_with_bytes_methods(monkeypatch):
    monkeypatch.setattr(byte_scan, "WINDOW", 7)  # tiny windows: every match straddles an edge somewhere
    rng = random.Random(20261126)
    for _ in range(3000):
        n = rng.randint(0, 80)
        xml = bytes(rng.choice(b'<row r="1">ab/') for _ in range(n))
        sub = rng.choice([b"<row", b'<row r="', b"</row>", b"ab"])
        start = rng.randint(0, n)
        end = rng.randint(start, n)
        assert byte_scan.find(xml, sub, start, end) == xml.find(sub, start, end)
        if sub != b"ab":
            assert byte_scan.count(xml, sub, start, end) == xml.count(sub, start, end)
