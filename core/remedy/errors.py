"""The remedy room's error, in a module of its own so the output folder and manifest code can share it."""

from __future__ import annotations

from phi_review.core.common.errors import PhiReviewError


class RemedyError(PhiReviewError):
    """A corrected copy cannot be made (bad box, no lossless path, copy exists...)."""
