"""The secret behind the profile's UID mapping and date offsets: where it comes from, made once.

Why its own module: the profile decides what each table action does; where the
secret lives (a file, the environment, the config folder) is a separate concern
that the pixel fix and the review screen share.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from phi_review.core.common.config import config_path
from phi_review.core.remedy.profile_table import ProfileError

SECRET_ENV = "PHI_REVIEW_FIX_SECRET"
SECRET_FILE = "fix-secret"


def load_secret(path: str | os.PathLike[str] | None = None) -> bytes:
    """The secret behind UID mapping and date offsets.

    ``path`` (a file), else ``$PHI_REVIEW_FIX_SECRET``, else
    ``~/.config/phi-review/fix-secret``, created once with 32 random bytes
    (mode 0600). Keep it to get the same UIDs and offsets in later runs; with
    it, and a patient's ID, the offset can be recomputed, so guard it like
    the originals.
    """
    if path is not None:
        try:
            data = Path(path).read_bytes().strip()
        except OSError as error:
            raise ProfileError(f"cannot read the secret file ({error.strerror})") from None
        if not data:
            raise ProfileError("the secret file is empty")
        return data
    env = os.environ.get(SECRET_ENV, "")
    if env:
        return env.encode("utf-8")
    target = config_path().parent / SECRET_FILE
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return target.read_bytes().strip()
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_hex(32).encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
    return target.read_bytes().strip()

