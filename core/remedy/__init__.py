"""Corrected copies: pixel blackout, header de-identification profile, and the manifest of what was done.

May import core.common, core.dicom and core.ocr; never report or review (the review layer records remedies in the journal)."""
