"""phi-review: keyboard review of DICOM files flagged for PHI/PII.

The code lives in two folders, installed under this namespace so that no generic
top-level ``core`` module lands in site-packages: ``core/`` (no UI imports) is
``phi_review.core`` and ``tui/`` is ``phi_review.tui``.
"""

__version__ = "0.1.0"
