"""Burned-in text: the OCR engine and matching its lines against the file's identifiers.

May import core.common and core.dicom; never report, review or remedy."""
