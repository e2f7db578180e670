"""DICOM files: locating them, header rows, identifying attributes, frames and the preview cache.

May import core.common only; never report, review, ocr or remedy."""
