"""One-time codes that were missed or invented: cue words inside longer words, code shapes,
and the subject, sender name and instructions as evidence (issue 9).

Every mail here is written for these tests. The positive cases and the cue-word negatives
failed before the fix (except those whose id ends in ``guard``); the ordinary words and the
order, invoice and tracking numbers were already left alone, and guard that the wider shapes
and the new evidence keep them out.
"""

from __future__ import annotations

import pytest

from workers.extract import find_code
from workers.extract.nocase import NoCase, alternation, fragments

# A mail is (subject, text, html); the sender's display name is passed apart where it matters.
Mail = tuple[str | None, str | None, str | None]

# --- "code" inside a longer word is not a cue ---------------------------------------------

CODE_INSIDE_A_WORD = [
    pytest.param(
        "Your nightly export",
        "Hi Priya,\n\nThe export job finished. The client encodes 734921 rows per batch and\n"
        "re-encodes them as base64 before upload.\n\nNothing to do on your side.",
        None,
        id="encodes",
    ),
    pytest.param(
        "Font coverage report",
        "Unicode 482913 characters were checked against the new font.\nMissing glyphs: 12",
        None,
        id="unicode",
    ),
    pytest.param(
        "Re: the attachment you sent",
        "Decode 558120 with the tool from the wiki; the payload is base64-encoded.\n\nThanks, Tom",
        None,
        id="decode",
    ),
    pytest.param(
        None,
        "The emoji you asked about is Unicode code point 1F600 (grinning face).",
        None,
        id="unicode-code-point",
    ),
    pytest.param(
        "Spedizione",
        "Il pacco è pronto.\nCodice a barre 800123 sull'etichetta.",
        None,
        id="italian-barcode",
    ),
    pytest.param("Lieferschein", "Artikel: Wanderschuh\nStrichcode: 40012345\nMenge: 1", None, id="german-barcode"),
    pytest.param("Pakket", "Streepjescode 871234 staat op de verpakking.", None, id="dutch-barcode"),
    pytest.param("Adres", "Código postal: 28013\nCiudad: Madrid", None, id="spanish-postcode"),
    pytest.param("Livraison", "Adresse : 12 rue des Lilas\nCode postal : 75011 Paris", None, id="french-postcode"),
    pytest.param("Przesyłka", "Kod kreskowy 590123 znajdziesz na paczce.", None, id="polish-barcode"),
    pytest.param("Посылка", "Штрих-код: 460123\nВес: 2 кг", None, id="russian-barcode"),
    pytest.param(
        "発送のお知らせ", "商品のバーコード：490123\nご利用ありがとうございます。", None, id="japanese-barcode"
    ),
    pytest.param("Support ticket", "The server logged ERROR_CODE: 550123 for your request.", None, id="identifier"),
    pytest.param("Din order", "Rabattkod? Nej. Streckkod: 735009 finns på kvittot.", None, id="swedish-barcode-guard"),
]


@pytest.mark.parametrize(("subject", "text", "html"), CODE_INSIDE_A_WORD)
def test_code_inside_a_longer_word_announces_nothing(subject: str | None, text: str | None, html: str | None) -> None:
    assert find_code(subject, text, html) is None


COMPOUND_CODE_WORDS = [
    pytest.param("Din engångskod är 552901", "552901", id="swedish"),
    pytest.param("Din bekræftelseskode: 918273", "918273", id="danish"),
    pytest.param("Din engangskode er 441902", "441902", id="norwegian"),
    pytest.param("Vahvistuskoodisi on 604918", "604918", id="finnish"),
    pytest.param("Dein Anmeldecode: 660213 (gilt 10 Minuten)", "660213", id="german-guard"),
    pytest.param("Uw verificatiecode: 739104", "739104", id="dutch-guard"),
    pytest.param("Seu código de verificação é 120934", "120934", id="portuguese-guard"),
    pytest.param("Ваш код подтверждения 3391", "3391", id="russian-guard"),
    pytest.param("ワンタイムコード：551208", "551208", id="japanese-guard"),
]


@pytest.mark.parametrize(("text", "expected"), COMPOUND_CODE_WORDS)
def test_compound_code_words_still_announce_a_code(text: str, expected: str) -> None:
    assert find_code(None, text, None) == expected


# --- code shapes ----------------------------------------------------------------------------

SHAPES = [
    pytest.param(
        ("Your magic sign-in code", "Hi,\n\nHere is your magic sign-in code:\n\n   qWmZkTrX\n\nIt works once.", None),
        "qWmZkTrX",
        id="mixed-case-letters-8",
    ),
    pytest.param(
        (None, "Type this code into the app to log in: HbTqWmLs4PzR\n\nIt expires in 15 minutes.", None),
        "HbTqWmLs4PzR",
        id="mixed-case-one-digit-12",
    ),
    pytest.param((None, "Your verification code: Tr7kPw", None), "Tr7kPw", id="mixed-case-one-digit-6"),
    pytest.param(
        ("Sign in to Lumen", None, "<p>Your login code</p><p><b>ZpKwQmBx</b></p><p>Do not share it.</p>"),
        "ZpKwQmBx",
        id="mixed-case-html",
    ),
    pytest.param((None, "Your one-time code: X7K9P2QM4T8V", None), "X7K9P2QM4T8V", id="upper-alnum-12"),
    pytest.param((None, "Your code: aB3dE5fG7hJ9", None), "aB3dE5fG7hJ9", id="mixed-alnum-12"),
    pytest.param((None, "Your code: BKDLGXJNTW", None), "BKDLGXJNTW", id="upper-letters-10"),
    pytest.param((None, "Your one-time code: q7xbztmw", None), "q7xbztmw", id="lower-case-one-digit"),
]


@pytest.mark.parametrize(("mail", "expected"), SHAPES)
def test_finds_codes_of_every_shape_in_the_case_shown(mail: Mail, expected: str) -> None:
    assert find_code(*mail) == expected


NOT_CODES = [
    pytest.param((None, "Your code: Welcome", None), id="capitalised-word"),
    pytest.param((None, "Your verification code has Expired. Request a new one.", None), id="capitalised-verb"),
    pytest.param((None, "Your verification code for MacBook was sent to your phone.", None), id="camel-case-name"),
    pytest.param((None, "Use this code on LinkedIn or YouTube", None), id="brand-names"),
    pytest.param((None, "Your code expires soon.\nThanks,\nDoorDash", None), id="signature-brand"),
    pytest.param((None, "Your antivirus code: McAfee", None), id="mc-name"),
    pytest.param((None, "Code samples: JavaScript, TypeScript", None), id="language-names"),
    pytest.param((None, "Your code: WELCOME", None), id="shouted-word"),
    pytest.param((None, "Verification code: IMPORTANTLY", None), id="shouted-long-word"),
    pytest.param((None, "Your code request ID: aB3dE5fG7h", None), id="request-id"),
    pytest.param((None, "Your code was sent.\nRequest id 5f3a9c2b8e1d", None), id="hex-id"),
    pytest.param((None, "Dear customer, reference: XkTqWmLs", None), id="mixed-case-reference"),
    pytest.param((None, "Your security code was changed on your iPhone 15.", None), id="product-name"),
    pytest.param((None, "Your code expired. Session: xK4pQ9zL2m", None), id="session-id"),
    pytest.param((None, "Your code is in the app; build hello1 is out.", None), id="word-with-a-digit"),
]


@pytest.mark.parametrize("mail", NOT_CODES)
def test_ordinary_words_ids_and_references_are_not_codes(mail: Mail) -> None:
    assert find_code(*mail) is None


# --- subject, sender and instructions ------------------------------------------------------


def test_instruction_under_a_code_subject_is_a_code() -> None:
    text = "Hi Sam,\n\nUse 482913 to sign in to Lumen. It expires in 10 minutes.\n\nThe Lumen team"
    assert find_code("Your sign-in code", text, None) == "482913"
    assert find_code("Hello from Lumen", text, None) is None, "the instruction alone is not enough"


def test_enter_instruction_with_alnum_code() -> None:
    assert find_code("Your Lumen login code", "Hi Sam,\nEnter 7XK4PQ on the sign-in page.", None) == "7XK4PQ"


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        pytest.param("Sign in to Lumen", "Hi Sam,\n\nUse 482913 to sign in.\n", "482913", id="use"),
        pytest.param("Log in to Lumen", "Type in 59QXT7 to finish logging in.", "59QXT7", id="type-in"),
        pytest.param("Your Lumen login", "Copy and paste 48213 into the app.", "48213", id="copy-and-paste"),
    ],
)
def test_instruction_under_a_sign_in_subject_is_a_code(subject: str, text: str, expected: str) -> None:
    assert find_code(subject, text, None) == expected


def test_sender_display_name_is_weak_evidence() -> None:
    text = "Welcome back!\n\nType 604118 into the window you came from."
    assert find_code("Welcome back", text, None, sender="Lumen Security") == "604118"
    assert find_code("Welcome back", text, None, sender="Lumen Login") == "604118"
    assert find_code("Welcome back", text, None, sender="Lumen Orders") is None
    assert find_code("Welcome back", text, None) is None
    assert find_code("Welcome back", text, None, sender="security@lumen.example") is None, "name, not address"


def test_find_code_keeps_its_positional_signature() -> None:
    assert find_code("Your code", "Your code is 271828", None) == "271828"


OTHER_NUMBERS_UNDER_SIGN_IN_SUBJECTS = [
    pytest.param(("Your sign-in code", "Use 884213 to track your order.", None), id="use-to-track"),
    pytest.param(
        ("Verify your sign-in", "Invoice 20931 is due.\nUse 552190 to pay by phone.", None), id="use-to-pay-by-phone"
    ),
    pytest.param(
        ("Your login code", "Your order number is 771204. Use it to track your parcel.", None), id="order-number"
    ),
    pytest.param(("Your sign-in code", "Please use 482913 as the payment reference.", None), id="payment-reference"),
    pytest.param(
        ("Your verification code", "Enter 884213 as the invoice number when you pay.", None), id="invoice-number"
    ),
    pytest.param(("Sign-in code", "Thanks for shopping!\n\nOrder number:\n884213\n", None), id="order-standalone"),
    pytest.param(("Your verification code", None, "<p>Invoice</p><p><b>INV20931</b></p>"), id="invoice-html"),
    pytest.param(("Your login code", "Tracking:\n\n1Z999AA1012\n", None), id="tracking-standalone"),
    pytest.param(("Your login code", "Use 1Z999AA1012 to follow the parcel.", None), id="use-tracking-number"),
    pytest.param(("Your sign-in code for order 884213", "Thanks for your order!", None), id="order-in-subject"),
    pytest.param(("Your login code", "Enter SPRING25 at checkout for 25% off your next order.", None), id="promo-code"),
    pytest.param(("Sign in to track your order", "Use 884213 to see where it is.", None), id="order-subject"),
    pytest.param(
        ("Sign in to Lumen", "Your order 884213 has shipped. Sign in to see it.", None), id="order-sign-in-subject"
    ),
    pytest.param(
        ("New sign-in to your account", "A new sign-in from Chrome 124 on Windows 11.\nWas this you?", None),
        id="security-alert",
    ),
]


@pytest.mark.parametrize("mail", OTHER_NUMBERS_UNDER_SIGN_IN_SUBJECTS)
def test_order_invoice_and_tracking_numbers_stay_out(mail: Mail) -> None:
    """These guard the new evidence: none of them may yield a code."""
    assert find_code(*mail) is None


# --- the word lists behind the cues ---------------------------------------------------------


def test_alternation_keeps_the_first_listed_fragment_first() -> None:
    """Grouping by first letter must not reorder: "gift card code" is found before "gift card"."""
    pattern = NoCase(alternation(fragments("gift\\scard\\scode gift\\scard gbp")))
    assert [m.group(0) for m in pattern.finditer("Gift card code, gift card, GBP")] == [
        "gift card code",
        "gift card",
        "gbp",
    ]


def test_alternation_refuses_a_fragment_without_a_literal_first_character() -> None:
    with pytest.raises(ValueError, match="literal"):
        alternation(["(?:en|de)code"])
    with pytest.raises(ValueError, match="literal"):
        alternation(["x?code"])


def test_non_ascii_words_are_searched_in_non_ascii_text_only() -> None:
    pattern = NoCase("code", non_ascii="код")
    assert [m.group(0) for m in pattern.finditer("Код и code")] == ["Код", "code"]
    assert [m.group(0) for m in pattern.finditer("kod and code")] == ["code"]
