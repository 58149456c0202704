"""The phone numbers a WhatsApp or SMS invitation goes to, and the addresses those apps open:
what coordinators type, read as the international number the apps need, and the text carried
whole."""

from __future__ import annotations

from urllib.parse import unquote

from server.rules.handout import phone_number, sms_url, whatsapp_url


def test_phone_numbers_as_coordinators_type_them_and_what_is_not_one() -> None:
    for typed, international in (
        ("06 12345678", "31612345678"),  # Dutch, without a country code
        ("06-1234 5678", "31612345678"),
        ("+31 (0)6 12345678", "31612345678"),
        ("0031 6 1234.5678", "31612345678"),
        ("+32 470 12 34 56", "32470123456"),
        ("+44 7700 900123", "447700900123"),
    ):
        assert phone_number(typed) == international, typed
    for not_one in ("bel maar", "612345678", "+31 6", "+0 612345678", "06 1234567８", "+1" * 9):
        assert phone_number(not_one) is None, not_one


def test_the_apps_get_the_whole_text_with_or_without_a_number() -> None:
    text = "Beste Ayşe,\n\nJe link: http://kring.example/i/a-b_c?x=1&y=2 #1"
    with_number = whatsapp_url(text, "31612345678")
    assert with_number.startswith("https://wa.me/31612345678?text=")
    assert unquote(with_number.split("?text=", 1)[1]) == text
    assert whatsapp_url(text, None).startswith("https://wa.me/?text=Beste%20Ay")
    assert sms_url(text, "31612345678").startswith("sms:+31612345678?&body=")
    assert unquote(sms_url(text, None).removeprefix("sms:?&body=")) == text
