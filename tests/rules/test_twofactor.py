"""The second factor's rules: which steps' codes count (around now, never one already used)
and what a typed code is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.rules import twofactor

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2027, 1, 10, 9, 0, 10, tzinfo=UTC)
STEP = twofactor.step_at(NOW)


def test_codes_are_those_of_rfc_6238() -> None:
    # RFC 6238's test secret ("12345678901234567890") at 59 seconds, six digits.
    rfc = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert twofactor.code_for(rfc, twofactor.step_at(datetime.fromtimestamp(59, UTC))) == "287082"


def test_a_code_counts_a_step_either_side_of_now() -> None:
    for offset in (-1, 0, 1):
        code = twofactor.code_for(SECRET, STEP + offset)
        assert twofactor.matching_step(SECRET, code, NOW, None) == STEP + offset
    for offset in (-2, 2):
        code = twofactor.code_for(SECRET, STEP + offset)
        assert twofactor.matching_step(SECRET, code, NOW, None) is None


def test_a_used_step_and_the_steps_before_it_never_count_again() -> None:
    now_code = twofactor.code_for(SECRET, STEP)
    assert twofactor.matching_step(SECRET, now_code, NOW, STEP) is None, "replayed"
    later = NOW + timedelta(seconds=30)
    assert twofactor.matching_step(SECRET, now_code, later, STEP) is None, "still replayed"
    previous = twofactor.code_for(SECRET, STEP - 1)
    assert twofactor.matching_step(SECRET, previous, NOW, STEP) is None, "older than a used one"
    following = twofactor.code_for(SECRET, STEP + 1)
    assert twofactor.matching_step(SECRET, following, NOW, STEP) == STEP + 1


@pytest.mark.parametrize(
    ("typed", "kind", "code"),
    [
        ("123456", "app", "123456"),
        (" 123 456 ", "app", "123456"),
        ("abcde-fghjk", "recovery", "abcdefghjk"),
        ("ABCDE FGHJK", "recovery", "abcdefghjk"),
        ("0OIL1-22222", "recovery", "00111" + "22222"),  # o is 0, i and l are 1
    ],
)
def test_a_typed_code_is_read_as_people_type_it(typed: str, kind: str, code: str) -> None:
    assert twofactor.typed_code(typed) == twofactor.Typed(kind, code)


@pytest.mark.parametrize(
    "typed",
    ["", "12345", "1234567", "١٢٣٤٥٦", "abcde-fghju", "abcde-fghj", "1" * 41, "12-34-56"],
)
def test_anything_else_is_no_code(typed: str) -> None:
    assert twofactor.typed_code(typed) is None


def test_the_set_up_address_names_kring_and_the_account() -> None:
    address = twofactor.setup_address(SECRET, "lotte@example.org")
    assert address.startswith("otpauth://totp/Kring:lotte%40example.org?")
    assert f"secret={SECRET}" in address and "issuer=Kring" in address
    assert twofactor.spaced("ABCDEFGH12") == "ABCD EFGH 12"
    assert twofactor.shown("abcdefghjk") == "abcde-fghjk"
