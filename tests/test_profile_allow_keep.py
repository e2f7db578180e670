"""A rule that would keep what the base removes or changes needs allow_keep = true: one line, file and line."""

from __future__ import annotations

import pytest

from phi_review.core.remedy.profile_file import parse_profile
from phi_review.core.remedy.profile_table import ProfileError


@pytest.mark.parametrize("rule, line", [
    ('keyword = "PatientName"\naction = "keep"\n', 6),  # the action line
    ('group = "0010"\naction = "keep"\n', 6),  # the action line
    ('creator = "GEMS_ACQU_01"\naction = "keep"\n', 6),  # the action line
    ('keyword = "StudyDescription"\naction = "replace"\npattern = "x"\nwith = ""\n', 6),  # the action line
])
def test_keeping_what_the_base_removes_needs_allow_keep(rule: str, line: int) -> None:
    text = 'base = "basic"\noptions = []\n\n[[rule]]\n' + rule
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "site.toml")
    message = str(caught.value)
    assert message.startswith(f"site.toml:{line}: ") and "allow_keep = true" in message and "\n" not in message
    assert parse_profile(text + "allow_keep = true\n", "site.toml").extras.rules[0].allow_keep


def test_what_the_base_keeps_or_base_none_needs_no_allow_keep() -> None:
    parse_profile('base = "basic"\n[[rule]]\nkeyword = "Rows"\naction = "keep"\n', "a.toml")
    parse_profile('base = "basic"\noptions = ["retain-device-identity"]\n[[rule]]\nkeyword = "StationName"\n'
                  'action = "keep"\n', "b.toml")
    parse_profile('base = "none"\n[[rule]]\nkeyword = "PatientName"\naction = "keep"\n', "c.toml")
    with pytest.raises(ProfileError, match=r"^d\.toml:4: .*allow_keep"):  # a list: each keyword checked
        parse_profile('base = "basic"\n[[rule]]\nkeyword = ["Rows", "PatientName"]\naction = "keep"\n', "d.toml")
