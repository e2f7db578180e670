"""Blank regions of a JPEG baseline/extended (Huffman, sequential) image in the DCT domain.

Decoding and re-encoding a lossy JPEG would degrade every pixel and change the
transfer syntax; instead the entropy-coded data is parsed, the 8x8 blocks
(whole MCUs) that meet a box get no AC coefficients and a DC that decodes to
the level the caller asks for (the frame's darkest: a flat black patch; DC 0,
mid-grey, only when no level is given), and every other block's coefficients
are copied bit for bit.
Only the DC differences next to a blanked block are re-encoded. This is the
method of Clunie and Gebow (J Med Imaging 2015;2(1):016501), also in
PixelMed's codec, CTP and dicom-dre; written here from the JPEG standard
(ITU T.81) because dicom-dre needs Python 3.12.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from phi_review.core.common.errors import PhiReviewError
from phi_review.core.remedy.jpeg_dc import complete_dc_table, dc_for, magnitude, nearest_diff

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


class JpegDctError(PhiReviewError):
    """The JPEG stream is not one this blanker can edit (progressive, arithmetic, lossless, damaged)."""


@dataclass
class _Component:
    ident: int
    h: int
    v: int
    dc_table: int = 0
    ac_table: int = 0
    quant: int = 0  # Tq: which quantisation table


@dataclass
class _Frame:
    precision: int
    height: int
    width: int
    components: list[_Component] = field(default_factory=list)
    q00: dict[int, int] = field(default_factory=dict)  # Tq -> DC quantiser
    colour: str = ""  # "ycc" or "rgb": what a 3-component stream holds (APP0 JFIF / APP14 Adobe)
    dht: dict[tuple[int, int], tuple[bytes, bytes]] = field(default_factory=dict)  # (class, id) -> (BITS, HUFFVAL)


@lru_cache(maxsize=64)
def _lookup(bits: bytes, values: bytes) -> tuple[list[int], list[int], dict[int, tuple[int, int]], list[int], list[int]]:
    """16-bit peek tables (symbol, code length, AC skip and step) and the encoder's (code, length) per symbol."""
    symbols = [0] * 65536
    lengths = [0] * 65536
    encode: dict[int, tuple[int, int]] = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            symbol = values[k]
            k += 1
            encode[symbol] = (code, length)
            shift = 16 - length
            start = code << shift
            for i in range(start, start + (1 << shift)):
                symbols[i] = symbol
                lengths[i] = length
            code += 1
        code <<= 1
    # for AC tables: bits to skip (code + magnitude) and how far k moves (EOB ends the block, ZRL is 16)
    advance = [n + (sym & 15) for sym, n in zip(symbols, lengths)]
    step = [0 if not n else 16 if sym == 0xF0 else 64 if not sym & 15 else (sym >> 4) + 1
            for sym, n in zip(symbols, lengths)]
    return symbols, lengths, encode, advance, step


def _extend(value: int, size: int) -> int:
    return value - (1 << size) + 1 if size and value < (1 << (size - 1)) else value


def _unstuff(data: bytes) -> bytes:
    return data.replace(b"\xff\x00", b"\xff")


def _stuff(data: bytes) -> bytes:
    return data.replace(b"\xff", b"\xff\x00")


def mcu_size(jpeg: bytes) -> tuple[int, int]:
    """Width and height in pixels of the MCU: what a box is rounded out to."""
    frame = _parse(jpeg)[0]
    hmax = max(c.h for c in frame.components)
    vmax = max(c.v for c in frame.components)
    return (8 * hmax, 8 * vmax) if len(frame.components) > 1 else (8, 8)


def _parse(jpeg: bytes) -> tuple[_Frame, dict, list[_Component], int, int, int]:
    """Frame, Huffman tables, scan components, restart interval, scan data start, scan data end."""
    if jpeg[:2] != b"\xff\xd8":
        raise JpegDctError("not a JPEG stream (no SOI)")
    pos = 2
    tables: dict[tuple[int, int], tuple] = {}
    frame: _Frame | None = None
    restart = 0
    jfif = False
    adobe: int | None = None
    quant: dict[int, int] = {}
    raw: dict[tuple[int, int], tuple[bytes, bytes]] = {}
    while pos < len(jpeg):
        if jpeg[pos] != 0xFF:
            raise JpegDctError("damaged JPEG stream")
        marker = jpeg[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        body = jpeg[pos + 4 : pos + 2 + length]
        if marker in (0xC0, 0xC1):
            precision, height, width, count = struct.unpack(">BHHB", body[:6])
            frame = _Frame(precision, height, width)
            for i in range(count):
                ident, hv, tq = body[6 + 3 * i : 9 + 3 * i]
                frame.components.append(_Component(ident, hv >> 4, hv & 15, quant=tq & 15))
        elif marker in (0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            raise JpegDctError("only baseline and extended sequential Huffman JPEG can be blanked in place")
        elif marker == 0xC4:
            i = 0
            while i < len(body):
                tc_th = body[i]
                counts = bytes(body[i + 1 : i + 17])
                n = sum(counts)
                values = bytes(body[i + 17 : i + 17 + n])
                tables[(tc_th >> 4, tc_th & 15)] = _lookup(counts, values)
                raw[(tc_th >> 4, tc_th & 15)] = (counts, values)
                i += 17 + n
        elif marker == 0xDB:
            i = 0
            while i < len(body):
                pq, tq = body[i] >> 4, body[i] & 15
                quant[tq] = body[i + 1] if pq == 0 else int.from_bytes(body[i + 1 : i + 3], "big")
                i += 1 + 64 * (pq + 1)
        elif marker == 0xE0 and body[:5] == b"JFIF\x00":
            jfif = True
        elif marker == 0xEE and body[:5] == b"Adobe" and len(body) >= 12:
            adobe = body[11]
        elif marker == 0xDD:
            (restart,) = struct.unpack(">H", body[:2])
        elif marker == 0xDA:
            if frame is None:
                raise JpegDctError("scan before frame header")
            count = body[0]
            scan = []
            by_id = {c.ident: c for c in frame.components}
            for i in range(count):
                ident, tables_id = body[1 + 2 * i : 3 + 2 * i]
                comp = by_id[ident]
                comp.dc_table, comp.ac_table = tables_id >> 4, tables_id & 15
                scan.append(comp)
            start = pos + 2 + length
            end = start
            while True:
                end = jpeg.find(b"\xff", end)
                if end < 0 or end + 1 >= len(jpeg):
                    raise JpegDctError("JPEG scan is cut short")
                nxt = jpeg[end + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                    end += 2
                    continue
                break
            if len(scan) != len(frame.components):
                raise JpegDctError("JPEG with more than one scan cannot be blanked in place")
            rest = jpeg[end:]
            if b"\xff\xda" in rest:
                raise JpegDctError("JPEG with more than one scan cannot be blanked in place")
            frame.q00, frame.dht = dict(quant), raw
            frame.colour = _colour(frame, jfif, adobe)
            return frame, tables, scan, restart, start, end
        pos += 2 + length
    raise JpegDctError("JPEG stream without a scan")


def _colour(frame: _Frame, jfif: bool, adobe: int | None) -> str:
    """What a 3-component stream holds, decided as libjpeg decides it (T.872; IJG jdapimin.c)."""
    if len(frame.components) != 3:
        return ""
    if adobe is not None:
        return "rgb" if adobe == 0 else "ycc"
    if jfif:
        return "ycc"
    if [c.ident for c in frame.components] == [ord("R"), ord("G"), ord("B")]:
        return "rgb"
    return ""  # no marker says: decoders differ (IJG assumes YCbCr, others RGB), the caller decides


def stream_colour(jpeg: bytes) -> str:
    """"ycc" or "rgb" when the stream's markers say so, else "": lets the caller pick each component's black."""
    return _parse(jpeg)[0].colour


_TO_TEXT = bytes.maketrans(b"\x00\x01", b"01")


class _Bits:
    """An unstuffed entropy-coded segment as a '0'/'1' string: peeks and copies are slices, linear in size."""

    def __init__(self, data: bytes) -> None:
        import numpy as np

        raw = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        bits = raw.tobytes().translate(_TO_TEXT).decode("ascii")
        self.total = len(bits)
        self.text = bits + "1" * 32  # padding reads as fill bits, never as a code
        self.pos = 0
        # the 16 bits starting at every position, precomputed in numpy: a Huffman peek is one index (2 bytes a bit)
        padded = np.concatenate([raw, np.ones(32, dtype=np.uint8)]).astype(np.uint16)
        windows = np.zeros(self.total + 16, dtype=np.uint16)
        for j in range(16):
            windows |= padded[j : j + self.total + 16] << np.uint16(15 - j)
        self.windows = array("H", windows.tobytes())

    def peek16(self) -> int:
        return self.windows[self.pos]

    def take(self, n: int) -> int:
        if n == 0:
            return 0
        out = int(self.text[self.pos : self.pos + n], 2)
        self.pos += n
        return out


class _Writer:
    """Collects bit strings; bytes are made once at the end (no quadratic big-integer shifts)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def put(self, bits: int, n: int) -> None:
        if n:
            self.parts.append(format(bits & ((1 << n) - 1), f"0{n}b"))

    def copy(self, reader: _Bits, start: int, end: int) -> None:
        if end > start:
            self.parts.append(reader.text[start:end])

    def tobytes(self) -> bytes:
        import numpy as np

        text = "".join(self.parts)
        text += "1" * ((-len(text)) % 8)
        if not text:
            return b""
        bits = np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")
        return np.packbits(bits).tobytes()


def blank_jpeg(jpeg: bytes, boxes: Sequence[Box], levels: Sequence[int] | None = None) -> tuple[bytes, int]:
    """Return the stream with every MCU meeting a box blanked, and the number of MCUs blanked.

    ``levels``: the sample value each component's blanked blocks decode to,
    in frame-header order (the frame's darkest luma and neutral chroma for
    YCbCr); None gives DC 0, mid-grey. The frame header, tables and every
    untouched block stay as they were; the decoded pixels outside the
    MCU-rounded boxes are identical.
    """
    frame, tables, scan, restart, start, end = _parse(jpeg)
    targets = {c.ident: 0 for c in frame.components}
    if levels is not None:
        for comp, level in zip(frame.components, levels):
            targets[comp.ident] = dc_for(int(level), frame.precision, frame.q00.get(comp.quant, 1))
    hmax = max(c.h for c in frame.components)
    vmax = max(c.v for c in frame.components)
    single = len(scan) == 1
    if single:
        comp = scan[0]
        bw, bh = 8 * hmax // comp.h, 8 * vmax // comp.v
        cols = -(-frame.width * comp.h // hmax // 8)
        rows = -(-frame.height * comp.v // vmax // 8)
        layout = [(comp, 1, 1)]
    else:
        bw, bh = 8 * hmax, 8 * vmax
        cols = -(-frame.width // bw)
        rows = -(-frame.height // bh)
        layout = [(c, c.h, c.v) for c in scan]
    blank = set()
    for x0, y0, x1, y1 in boxes:
        for my in range(max(0, y0 // bh), min(rows, -(-y1 // bh))):
            for mx in range(max(0, x0 // bw), min(cols, -(-x1 // bw))):
                blank.add(my * cols + mx)
    if not blank:
        return jpeg, 0
    # A trimmed DC table (an optimising encoder keeps only the sizes it used) may lack the differences into and
    # out of a dark patch: complete it with codes at length 16, after every existing code, which keeps every
    # existing code (so every untouched block's bits) as it was; the completed table is defined again before SOS.
    dc_out: dict[int, dict[int, tuple[int, int]]] = {}
    extra = b""
    for th in sorted({c.dc_table for c, _, _ in layout}) if levels is not None else []:
        completed = complete_dc_table(*frame.dht[(0, th)], frame.precision) if (0, th) in frame.dht else None
        if completed is not None:
            dc_out[th] = _lookup(*completed)[2]
            extra += b"\xff\xc4" + struct.pack(">H", 19 + len(completed[1])) + bytes([th]) + completed[0] + completed[1]
    sos = jpeg.rfind(b"\xff\xda", 0, start)
    # split the scan into restart intervals
    data = jpeg[start:end]
    segments: list[bytes] = []
    markers: list[bytes] = []
    i = 0
    seg_start = 0
    while True:
        j = data.find(b"\xff", i)
        if j < 0 or j + 1 >= len(data):
            break
        if 0xD0 <= data[j + 1] <= 0xD7:
            segments.append(data[seg_start:j])
            markers.append(data[j : j + 2])
            seg_start = i = j + 2
        else:
            i = j + 2
    segments.append(data[seg_start:])
    total = rows * cols
    per_segment = restart if restart else total
    out_segments: list[bytes] = []
    mcu = 0
    for segment in segments:
        if mcu >= total:
            out_segments.append(segment)
            continue
        reader = _Bits(_unstuff(segment))
        writer = _Writer()
        pred_in = {c.ident: 0 for c, _, _ in layout}
        pred_out = {c.ident: 0 for c, _, _ in layout}
        count = min(per_segment, total - mcu)
        try:
            pos, mcu = _blank_segment(count, mcu, blank, layout, tables, reader, writer, pred_in, pred_out, targets,
                                      dc_out)
        except IndexError:  # the codes ran past the end of the data
            raise JpegDctError("JPEG scan is cut short") from None
        if pos > reader.total:
            raise JpegDctError("JPEG scan is cut short")
        out_segments.append(_stuff(writer.tobytes()))
    body = bytearray()
    for index, segment in enumerate(out_segments):
        body += segment
        if index < len(markers):
            body += markers[index]
    return jpeg[:sos] + extra + jpeg[sos:start] + bytes(body) + jpeg[end:], len(blank)


def _blank_segment(count: int, mcu: int, blank: set[int], layout: list, tables: dict, reader: _Bits,
                   writer: _Writer, pred_in: dict[int, int], pred_out: dict[int, int],
                   targets: dict[int, int], dc_out: dict[int, dict[int, tuple[int, int]]]) -> tuple[int, int]:
    """One restart interval: copy every block as it is except the blanked ones and the DC next to them.

    ``dc_out``: the DC codes written (a table completed with the sizes it lacked, see ``blank_jpeg``).
    """
    text = reader.text
    windows = reader.windows
    pos = 0
    copy_from = 0  # bits from here to the current block are copied unchanged, in one slice
    for _ in range(count):
        blanked = mcu in blank
        for comp, nh, nv in layout:
            dc_sym, dc_len, dc_enc, _, _ = tables[(0, comp.dc_table)]
            _, _, ac_enc, ac_advance, ac_step = tables[(1, comp.ac_table)]
            ident = comp.ident
            for _b in range(nh * nv):
                block_start = pos
                peek = windows[pos]
                size = dc_sym[peek]
                length = dc_len[peek]
                if not length:
                    raise JpegDctError("damaged JPEG data (bad Huffman code)")
                pos += length
                diff = _extend(int(text[pos : pos + size], 2), size) if size else 0
                pos += size
                dc = pred_in[ident] + diff
                pred_in[ident] = dc
                ac_start = pos
                k = 1
                while k < 64:
                    peek = windows[pos]
                    step = ac_step[peek]
                    if not step:
                        raise JpegDctError("damaged JPEG data (bad Huffman code)")
                    pos += ac_advance[peek]
                    k += step
                if not blanked and pred_out[ident] == dc - diff:
                    pred_out[ident] = dc  # same prediction as the original: the whole block is copied as it is
                    continue
                writer.copy(reader, copy_from, block_start)
                dc_enc = dc_out.get(comp.dc_table, dc_enc)
                if blanked:
                    new_dc = pred_out[ident] + nearest_diff(targets[ident] - pred_out[ident], dc_enc)
                else:
                    new_dc = dc
                size, bits = magnitude(new_dc - pred_out[ident])
                pred_out[ident] = new_dc
                if size not in dc_enc or (blanked and 0x00 not in ac_enc):
                    raise JpegDctError("its Huffman tables lack a code the blanked blocks need")
                code, n = dc_enc[size]
                writer.put(code, n)
                writer.put(bits, size)
                if blanked:
                    code, n = ac_enc[0x00]
                    writer.put(code, n)
                    copy_from = pos
                else:
                    copy_from = ac_start
        mcu += 1
    reader.pos = pos
    writer.copy(reader, copy_from, min(pos, reader.total))
    return pos, mcu


def dct_coefficients(jpeg: bytes) -> list[tuple[int, ...]]:
    """Every block's (DC, AC...) quantised coefficients in scan order: lets tests prove untouched blocks are identical."""
    frame, tables, scan, restart, start, end = _parse(jpeg)
    hmax = max(c.h for c in frame.components)
    vmax = max(c.v for c in frame.components)
    if len(scan) == 1:
        comp = scan[0]
        cols = -(-frame.width * comp.h // hmax // 8)
        rows = -(-frame.height * comp.v // vmax // 8)
        layout = [(comp, 1, 1)]
    else:
        cols = -(-frame.width // (8 * hmax))
        rows = -(-frame.height // (8 * vmax))
        layout = [(c, c.h, c.v) for c in scan]
    data = jpeg[start:end]
    import re

    segments = re.split(rb"\xff[\xd0-\xd7]", data)
    total = rows * cols
    per_segment = restart if restart else total
    blocks: list[tuple[int, ...]] = []
    mcu = 0
    for segment in segments:
        reader = _Bits(_unstuff(segment))
        pred = {c.ident: 0 for c, _, _ in layout}
        for _ in range(min(per_segment, total - mcu)):
            for comp, nh, nv in layout:
                dc_sym, dc_len = tables[(0, comp.dc_table)][:2]
                ac_sym, ac_len = tables[(1, comp.ac_table)][:2]
                for _b in range(nh * nv):
                    peek = reader.peek16()
                    size = dc_sym[peek]
                    reader.pos += dc_len[peek]
                    pred[comp.ident] += _extend(reader.take(size), size)
                    coeffs = [pred[comp.ident]] + [0] * 63
                    k = 1
                    while k < 64:
                        peek = reader.peek16()
                        rs = ac_sym[peek]
                        reader.pos += ac_len[peek]
                        run, size = rs >> 4, rs & 15
                        if size == 0:
                            if run == 15:
                                k += 16
                                continue
                            break
                        k += run
                        coeffs[k] = _extend(reader.take(size), size)
                        k += 1
                    blocks.append(tuple(coeffs))
            mcu += 1
    return blocks
