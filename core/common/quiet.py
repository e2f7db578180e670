"""Keep library chatter (which can quote header values) off the screen and out of logs.

pydicom warns with the offending value ("Invalid value for VR IS: '1A'") both
through ``warnings`` and its logger. On a review screen that text would
scribble over the UI, and in a log it could carry PHI, so it is dropped; the
app reports problems itself, in one line, in the pane they concern.
"""

from __future__ import annotations

import logging
import warnings

QUIET_LOGGERS = ("pydicom", "textual_image", "PIL", "rapidocr", "RapidOCR", "onnxruntime", "openpyxl")


def silence_libraries() -> None:
    warnings.filterwarnings("ignore", module=r"pydicom(\..*)?")
    warnings.filterwarnings("ignore", module=r"openpyxl(\..*)?")
    warnings.filterwarnings("ignore", category=UserWarning)
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [logging.NullHandler()]
        logger.propagate = False
