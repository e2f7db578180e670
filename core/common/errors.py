"""Errors meant for a person: the message is one line and says what to do."""


class PhiReviewError(Exception):
    """An expected failure whose message is shown as-is, never as a traceback."""


class ReportError(PhiReviewError):
    """The reconciliation report cannot be read or written."""


class DicomError(PhiReviewError):
    """A DICOM file cannot be read, decoded or located."""


class LockedError(PhiReviewError):
    """Another session holds the report for writing."""
