"""scan: walk a LabCAS tree, check every file's header and every frame, write the validator's CSV layout.

The EDRN validator reads at most four frames, swallows multi-frame colour,
clips 16-bit frames and skips small files and ultrasound; this room reads
them all and writes rows its consumers (``summarize-validation-reports``,
phi-review's report reader) already understand. It may import ``common``,
``dicom``, ``ocr`` and ``proof``, never ``report``, ``review``, ``remedy``
or ``release`` (tests/test_boundary.py): the scan is a producer of reports,
not a reader of them.
"""
