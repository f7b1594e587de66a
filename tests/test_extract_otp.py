"""Unit tests for one-time-code extraction on small hand-written mails."""

from __future__ import annotations

import email
import email.message
import email.policy

import pytest
from selectolax.lexbor import LexborHTMLParser

from service.mime.parts import subject_text_html
from workers.extract import find_code, find_links, html_to_text, html_view

POSITIVES = [
    pytest.param("123456 is your Acme code", None, None, "123456", id="subject-before-keyword"),
    pytest.param("Use code 048213 to sign in", None, None, "048213", id="subject-leading-zero"),
    pytest.param(None, "Your verification code is 012345.", None, "012345", id="sentence-leading-zero"),
    pytest.param(None, "Your one-time passcode: X7K9P2\nIt expires in 10 minutes.", None, "X7K9P2", id="alnum"),
    pytest.param(
        "Sign-in code",
        "Hello!\n\nYour sign-in code is listed below.\n\nABCD-EFGH\n\nIgnore this mail if it was not you.",
        None,
        "ABCD-EFGH",
        id="letters-dashed-standalone",
    ),
    pytest.param(None, "Enter this code to continue:\n\n\n  738201  \n", None, "738201", id="standalone-after-keyword"),
    pytest.param(None, "Bestätigungscode: 482913", None, "482913", id="german-compound"),
    pytest.param(None, "Tu código de verificación es 739201", None, "739201", id="spanish"),
    pytest.param(None, "Votre code de vérification : 558120", None, "558120", id="french"),
    pytest.param(None, "您的验证码是：482913，5分钟内有效。", None, "482913", id="chinese-no-spaces"),
    pytest.param(None, "Your security PIN: 8472", None, "8472", id="pin-4-digits"),
    pytest.param(None, "Your login code is 123-456", None, "123-456", id="dashed-digits"),
    pytest.param(None, "> Your verification code is 246810", None, "246810", id="quoted"),
    pytest.param(
        "Your code",
        None,
        "<html><head><style>.x{width:600px}</style></head><body><p>Enter this code to sign in:</p>"
        "<table><tr><td style='font-size:32px'><strong>904117</strong></td></tr></table>"
        "<p>&copy; 2024 Acme Inc, 123 Main St, Springfield, IL 62704</p></body></html>",
        "904117",
        id="html-only",
    ),
    pytest.param(None, "Your Apple ID Code is: 482913. Don't share it.", None, "482913", id="id-code-not-negative"),
    pytest.param(None, "Your Steam Guard code: F4G7K", None, "F4G7K", id="short-alnum"),
    pytest.param(None, "Your temporary password is: Xa9mP2qL", None, "Xa9mP2qL", id="mixed-case-alnum"),
    pytest.param(None, "Ваш код подтверждения: 4821", None, "4821", id="russian"),
    pytest.param(None, "인증번호 [123456]을 입력하세요", None, "123456", id="korean-brackets"),
    pytest.param(None, "認証コード：482913（１０分間有効）", None, "482913", id="japanese-full-width-note"),
    pytest.param(None, "Your VERIFICATION code: 4821", None, "4821", id="upper-case-cue"),
    pytest.param(None, "Votre Code de Vérification : 558120", None, "558120", id="capitalised-cue-non-ascii"),
    pytest.param(None, "Your verification code for order 12345 is 678901", None, "678901", id="past-order-number"),
    pytest.param(
        "Confirm your email address",
        "Your confirmation code is below — enter it in your open browser window.\n\nXHQ-PLM\n\nThanks!",
        None,
        "XHQ-PLM",
        id="letters-3-3",
    ),
    pytest.param(
        None,
        "Your verification code is 314159.\nYour order #88812 ships on 2024-05-01.",
        None,
        "314159",
        id="code-beside-order-number",
    ),
    pytest.param(
        "Fwd: Your verification code",
        "---------- Forwarded message ---------\nFrom: Acme <no-reply@acme.example>\n"
        "Date: Fri, 14 Mar 2025 13:03:53 +0000\nSubject: Your verification code\n\n"
        "Use the code below to verify your identity.\n\n662901\n",
        None,
        "662901",
        id="forwarded",
    ),
]

NEGATIVES = [
    pytest.param("Order #123456 confirmed", "Thanks for your order #123456.", None, id="order-hash"),
    pytest.param("Your order 884213 has shipped", "Tracking number: 1Z999AA10123456784", None, id="tracking"),
    pytest.param(None, "You can track your shipment with 940011 code.", None, id="tracking-code-after"),
    pytest.param("Your gift card", "Gift card code: ABCD-EFGH-JKLM\nAmount: $50.00", None, id="gift-card"),
    pytest.param(None, "Redeem your promo code SAVE2024 at checkout.", None, id="promo-code"),
    pytest.param(None, "Total: $1234.56\nPrice: 1299 USD\nYou paid 4500 EUR.", None, id="prices"),
    pytest.param(None, "Call us at +1 (800) 555-0199 or 0800 123456.", None, id="phones"),
    pytest.param(None, "Signed in on 2024-05-01 at 10:45 from 203.0.113.5 (Windows 10).", None, id="date-time-ip"),
    pytest.param(None, "© 2024 Acme Inc.\n1600 Main Street, Suite 204\nSpringfield, IL 62704", None, id="address"),
    pytest.param(None, "We received your payment of 4999 on 20240501.", None, id="amount-and-date"),
    pytest.param(
        "Verify your email",
        "Click to verify: https://example.com/verify?code=123456&uid=998877",
        None,
        id="code-only-inside-url",
    ),
    pytest.param("Your verification code", "Your code expires in 10 minutes.", None, id="keyword-but-no-token"),
    pytest.param(
        "New sign-in to your account",
        "A new sign-in from Chrome 124 on macOS 14.4.\nIf this was you, no action is needed.",
        None,
        id="security-alert",
    ),
    pytest.param(None, None, "<p>Your reference number is 482913.</p>", id="reference-number"),
    pytest.param(None, "Your card ending in 4242 was charged.", None, id="card-last4"),
    pytest.param(None, "Use code SPRING25 for 25% off your next purchase", None, id="promo-percent-off"),
    pytest.param(None, "Your booking confirmation code is ABC123", None, id="booking-code"),
    pytest.param("Your verification code", "It was sent to +1 415 555 0100 and 0800 123456.", None, id="spaced-phone"),
    pytest.param(None, "Meeting ID: 824 1234 5678", None, id="meeting-id-groups"),
    pytest.param(None, "Socket error code 10061\nNational Bank Code: 21003467", None, id="error-and-bank-codes"),
    pytest.param(
        None, "DNS Error: lookup responded with code NOERROR 16578478 DNS type mx", None, id="code-with-value"
    ),
    pytest.param(None, "Dear customer, your reference is ABCD-EFGH.", None, id="reference-letters"),
    pytest.param(None, "", "", id="empty"),
    pytest.param(None, None, None, id="nothing"),
]


@pytest.mark.parametrize(("subject", "text", "html", "expected"), POSITIVES)
def test_finds_code(subject: str | None, text: str | None, html: str | None, expected: str) -> None:
    assert find_code(subject, text, html) == expected


@pytest.mark.parametrize(("subject", "text", "html"), NEGATIVES)
def test_no_code(subject: str | None, text: str | None, html: str | None) -> None:
    assert find_code(subject, text, html) is None


def test_html_only_code_in_sentence_with_bold() -> None:
    html = "<div>To finish logging in, enter this verification code: <b>007700</b></div><div>IP: 192.0.2.1</div>"
    assert find_code(None, None, html) == "007700"


def test_prefers_code_over_other_numbers_on_same_mail() -> None:
    text = "Invoice 55123\nYour one-time code: 889900\nSupport: +1 415 555 0100"
    assert find_code("Account activity", text, None) == "889900"


def test_html_to_text_keeps_blocks_drops_head_script_style() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<script>var x = 123456;</script><p>Hello <b>there</b></p><div>one<br>two</div>"
        "<table><tr><td>a</td><td>b</td></tr></table></body></html>"
    )
    text = html_to_text(html)
    assert text.splitlines() == ["Hello there", "", "one", "two", "", "a b"]
    assert "123456" not in text and "color" not in text and "T" not in text.split()


def test_html_to_text_handles_deep_nesting() -> None:
    html = "<div>" * 5000 + "deep 424242" + "</div>" * 5000
    assert "deep 424242" in html_to_text(html)


def test_html_to_text_collapses_spaces_within_lines() -> None:
    html = "<p>a \u00a0\u200b b\tc  d e</p><pre>x   y</pre>"
    assert html_to_text(html).splitlines() == ["a b c d e", "", "x y"]


def test_code_set_apart_in_a_skipped_element_still_counts_as_prominent() -> None:
    """``<object>`` and ``<svg>`` content is not read as text, yet a code set apart in it is
    prominent, which breaks a tie between two equally announced tokens."""
    text = "Your code is 482913\nYour code is 913482"
    assert find_code(None, text, None) == "482913"
    assert find_code(None, text, "<p>x</p><object><b>913482</b></object>") == "913482"
    assert find_code(None, text, "<p>x</p><svg><b>913482</b></svg>") == "913482"


def test_full_width_digits_separate_words_as_cjk_text_does() -> None:
    assert find_code(None, "Your code is ４８２９１３", None) is None
    assert find_code(None, "Your code is AB１２CD 482913", None) is None


def test_html_is_parsed_once_for_both_extractors(monkeypatch: pytest.MonkeyPatch) -> None:
    """``extract_otp`` and ``extract_links`` read the same body one after the other."""
    parses: list[str] = []
    real = LexborHTMLParser  # what html_view imported

    def counting(html: str) -> LexborHTMLParser:
        parses.append(html)
        return real(html)

    monkeypatch.setattr(html_view, "LexborHTMLParser", counting)
    html = "<p>Your verification code is <b>271828</b></p><a href='https://x.example/verify?t=1'>Verify</a>"
    assert find_code("Sign in", None, html) == "271828"
    assert find_links(None, html) == ["https://x.example/verify?t=1"]
    assert html_to_text(html) == "Your verification code is 271828\n\nVerify"
    assert parses == [html]


def test_subject_text_html_skips_attachments() -> None:
    msg = email.message.EmailMessage()
    msg["Subject"] = "Your code"
    msg.set_content("Code: 135790")
    msg.add_alternative("<p>Code: <b>135790</b></p>", subtype="html")
    msg.add_attachment("not the body 999999", filename="notes.txt")
    subject, text, html = subject_text_html(msg)
    assert subject == "Your code"
    assert text is not None and "135790" in text
    assert html is not None and "<b>135790</b>" in html
    assert find_code(subject, text, html) == "135790"


def test_subject_text_html_html_only_latin1() -> None:
    raw = (
        b"Subject: =?utf-8?q?C=C3=B3digo?=\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/html; charset=iso-8859-1\r\n\r\n<p>Tu c\xf3digo es 246802</p>\r\n"
    )
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    subject, text, html = subject_text_html(msg)
    assert (subject, text) == ("Código", None)
    assert find_code(subject, text, html) == "246802"


def test_huge_single_tokens_are_scanned_in_linear_time() -> None:
    """A 1 MB header or base64 line once made the URL/e-mail blanking quadratic (hours per message);
    pytest's timeout is the bound here, no timing assertion."""
    for token in ("A" * 1_000_000, "a@" + "b" * 1_000_000, "x." * 500_000, "k=" * 500_000):
        assert find_code("Your code", f"Your code is 482913\n{token}", None) == "482913"
