"""A CSV file's encoding and byte-order mark: detected once, kept exactly on every save.

The validator writes UTF-8; people re-save in Excel as UTF-8 with a BOM, as
Latin-1 ("CSV (Windows)") or as UTF-16 ("Unicode Text"). Saving must give back
the same encoding and the same leading bytes, so the file is split into its
prefix (zero or more BOMs, kept byte for byte) and a body in one codec. Text the
codec cannot hold (a Latin-1 file and a note in Japanese) is refused when it is
typed, never found at save time, when it would block every later save.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from phi_review.core.common.errors import ReportError
from phi_review.core.common.inert import inert
from phi_review.core.report.model import CsvFormat, Report

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
LABELS = {"utf-8": "UTF-8", "latin-1": "Latin-1", "utf-16-le": "UTF-16", "utf-16-be": "UTF-16"}
_BEYOND_LATIN1 = re.compile("[^\x00-\xff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def split_prefix(data: bytes, name: str) -> tuple[bytes, str]:
    """(the leading bytes kept as they are, the codec of the rest); UTF-32 and broken UTF-16 are refused."""
    if data.startswith(_UTF32_BOMS):
        raise ReportError(f"{inert(name)} is a UTF-32 file, which phi-review does not write back; "
                          "save it as UTF-8 (or UTF-16) CSV and open it again")
    for bom, codec in _UTF16_BOMS.items():
        if data.startswith(bom):
            return bom, _checked_utf16(data[2:], codec, name)
    prefix = 0
    while data.startswith(UTF8_BOM, prefix):  # a file an older save gave several BOMs keeps them all
        prefix += 3
    if prefix == 0:
        guessed = _utf16_without_bom(data)
        if guessed:
            return b"", _checked_utf16(data, guessed, name)
    body = data[prefix:]
    try:
        body.decode("utf-8")
        return data[:prefix], "utf-8"
    except UnicodeDecodeError:
        return data[:prefix], "latin-1"  # every byte is a character: nothing is lost or changed


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text that starts without a BOM: mostly ASCII, so every other byte is NUL."""
    sample = data[:4096]
    if len(sample) < 4 or len(data) % 2:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= 0.3 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.3 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _checked_utf16(body: bytes, codec: str, name: str) -> str:
    try:
        body.decode(codec)
    except UnicodeDecodeError:
        raise ReportError(f"{inert(name)} starts as UTF-16 but is not valid UTF-16 throughout; "
                          "save it again as UTF-8 CSV and open it again") from None
    return codec


def decode_csv(data: bytes, name: str) -> tuple[str, CsvFormat]:
    """The file's text (prefix left out) and how it is written; ``newline``/``delimiter`` are filled by the caller."""
    prefix, codec = split_prefix(data, name)
    return data[len(prefix):].decode(codec), CsvFormat(encoding=codec, bom=bool(prefix))


def text_of(data: bytes, fmt: CsvFormat, name: str) -> tuple[bytes, str]:
    """(prefix, text) of the file's current bytes, refusing a file whose encoding is no longer the one read."""
    prefix, codec = split_prefix(data, name)
    if codec != fmt.encoding or bool(prefix) != fmt.bom:
        raise ReportError(f"{inert(name)} changed its encoding since it was opened; not overwritten")
    return prefix, data[len(prefix):].decode(codec)


def encode_csv(prefix: bytes, text: str, fmt: CsvFormat, name: str) -> bytes:
    """The prefix read, then the text in the file's own codec (a last guard: input is checked when typed)."""
    try:
        return prefix + text.encode(fmt.encoding)
    except UnicodeEncodeError as error:
        bad = text[error.start]
        raise ReportError(f"{inert(name)} is a {LABELS[fmt.encoding]} file and cannot hold U+{ord(bad):04X}; "
                          "change that text or save the file as UTF-8 and open it again") from None


def unholdable(fmt: CsvFormat, text: str) -> str | None:
    """The first character of ``text`` the format cannot hold, or None."""
    if fmt.encoding == "latin-1":
        bad = _BEYOND_LATIN1.search(text)
    else:  # UTF-8 and UTF-16 hold every character but a lone surrogate
        bad = _SURROGATE.search(text)
    return bad.group(0) if bad else None


def cannot_hold(report: Report, text: str, what: str = "text", sources: Iterable[str] | None = None) -> str | None:
    """Why ``text`` cannot be written into the report's file(s) (one line), or None; workbooks hold any text.

    ``sources`` narrows the check to the files those rows come from (``Finding.source``).
    """
    if report.kind != "csv" or not text or text.isascii():
        return None
    wanted = None if sources is None else set(sources)
    for source in report.sources:
        if wanted is not None and source.name not in wanted:
            continue
        bad = unholdable(source.format, text)
        if bad is not None:
            name = source.path.name
            fix = "give --reviewer a name without it" if "reviewer" in what else "leave that character out"
            return (f"{inert(name)} is a {LABELS[source.format.encoding]} file and cannot hold U+{ord(bad):04X} "
                    f"in the {what}; {fix}, or save the file as UTF-8 and open it again")
    return None


def check_holdable(report: Report, indexes: Iterable[int], texts: Mapping[str, str | None]) -> None:
    """Refuse (ReportError, one line) any of ``texts`` ({what: text}) the files of these rows cannot hold."""
    if report.kind != "csv" or all(t is None or t.isascii() for t in texts.values()):
        return
    findings = report.findings
    sources = {findings[i].source for i in indexes if 0 <= i < len(findings)}
    for what, text in texts.items():
        if text is not None:
            problem = cannot_hold(report, text, what, sources)
            if problem:
                raise ReportError(problem)
