"""The proof: is a corrected copy free of the original's identifiers? Checked apart from what made it.

This room reads the copy's *bytes* (its own element walker, not the dataset
the profile edited) and OCRs its frames, and searches both for every
identifying string of the original. It never imports ``remedy`` (the profile
and the blanker it checks), ``report`` or ``review``: one bug cannot hide
itself. It may use ``common``, ``dicom`` (to read the original, to decode
frames) and ``ocr`` (the engine reads the copy's pixels).
"""
