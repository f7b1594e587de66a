"""The words around a token that say whether it is a one-time code or some other number.

Kept apart from the scoring in ``otp`` because this is the part that grows: every language
and every kind of reference number a sender can print adds a word here, not logic there.
Positive cues announce a code ("verification code", "PIN", "código"); negative cues
announce something else ("order #", "gift card code", "error code", "phone").

A cue is a whole word: "code" inside "barcode", "encode", "Unicode" or "Quellcode" announces
nothing. Languages that write compounds as one word ("Bestätigungscode", "verificatiecode",
"engångskod") have their code-word heads listed; other letters glued to a code word make it
a different word. Scripts without spaces (CJK) list their compounds whole instead.
"""

from __future__ import annotations

import bisect

from workers.extract.nocase import NoCase, alternation, fragments

__all__ = ["Cue", "find_cues", "is_about_signing_in", "is_instruction"]

Cue = tuple[int, int, int]  # (start, end, polarity) of a cue word in a line

# "code" in the languages the lists cover, with the endings it takes there ...
_CODE_WORDS = r"c[oó]d(?:e|es|ice|ici|igo|igos) k[oó]d(?:e|en|er|u|un|unu|unuz|em|zie)? koodi(?:a|n|si)?"
# ... alone, or after a head that makes a compound code word (de, nl, da/no, sv, fi, en).
_CODE_HEADS = (
    r"bestätigungs verifizierungs sicherheits anmelde einmal zugangs freischalt aktivierungs prüf",
    r"authentifizierungs verificatie beveiligings toegangs inlog bevestigings activerings authenticatie",
    r"engangs bekræftelses bekreftelses verifikations verifiserings sikkerheds sikkerhets adgangs tilgangs",
    r"engångs verifierings bekräftelse säkerhets inloggnings aktiverings vahvistus kertakäyttö tunnistus",
    r"turva varmennus kirjautumis aktivointi pass auth otp sms login",
)
_POSITIVE = NoCase(
    r"\b(?:"
    + alternation(
        [
            *fragments(*_CODE_HEADS, end=f"(?:{'|'.join(_CODE_WORDS.split())})\\b"),
            *fragments(
                _CODE_WORDS,
                r"one[-\s]?time otp pass[-\s]?code pin tan security 2fa mfa two[-\s]?(?:factor|step) token senha",
                r"clave temporary\spassword confirm(?:ation|ación|ação)?",
                end=r"\b",
            ),
            # Stems: "verify", "verification", "Verifizierung", "authenticator" ...
            *fragments(
                r"verif(?:y|ication|ier|izierung|icación|icação|ica|icatie|iera) vérifi bestätig sicherheits",
                r"authenticat authentifi doğrulama weryfikac",
            ),
        ]
    )
    + ")",
    non_ascii=r"\b(?:код(?:а|у|ом|е|ы|ов)?\b|пароль)|验证码|校验码|动态码|确认码|認証|確認コード|ワンタイム|コード|인증",
)
# Words that announce some other number. Compounds that end in "code" ("gift card code",
# "postcode", "error code") are matched whole, before their first word alone, so the "code"
# inside them never counts as positive evidence; short generic words ("ID", "No.") take no
# such suffix, so "Apple ID code" stays positive.
_COMPOUND_HEADS = (
    r"gift[-\s]?card promo(?:tion(?:al)?)? coupon discount voucher referral redemption redeem tracking track",
    r"post(?:al)? zip area country product item reference ref serial customer member(?:ship)? pnr",
    r"order(?:\sconfirmation)? booking(?:\sconfirmation)? reservation(?:\sconfirmation)? flight(?:\sconfirmation)?",
    r"invoice receipt ticket case model version build shipment shipping parcel",
    r"package delivery phone tel telephone fax mobile status response reason result return exit bank sort",
    r"swift bic branch routing tax vat diagnostic smtp http qr bar source char(?:acter)? error",
    r"bestellung pedido commande ordine rechnung factura facture fattura",
)
_PLAIN_NEGATIVES = (
    r"gift[-\s]?card promo(?:tion(?:al)?)? coupon discount voucher referral redemption redeem tracking track zip",
    r"booking reservation flight pnr order invoice receipt reference ref ticket case customer serial sku model",
    r"version build shipment shipping parcel package delivery phone tel telephone fax mobile call ending\sin",
    r"last\s(?:4|four) card suite street avenue ave apt floor p\.?o\.?\sbox price total subtotal amount",
    r"balance payment paid refund usd eur gbp date ip port id no\. nr\. error status diagnostic iban bic swift",
    r"bestellung pedido commande ordine rechnung factura facture fattura",
    # Data, not a code to type: "base64-encoded", "Unicode", "codec", "SHA-256 checksum".
    r"encod(?:e|es|ed|er|ing|ings) decod(?:e|es|ed|er|ing|ings) base64 unicode codecs? charset utf-?8",
    r"checksum hash sha-?\d* md5 encodier\w* decodier\w* kodier\w* codiert gecodeerd session trace correlation",
    r"uuid guid",
    # Compounds that name some other number, one word each (de, nl, da/no, sv, fi).
    r"gutscheincode rabattcode aktionscode fehlercode quellcode strichcode postleitzahl kundennummer",
    r"bestellnummer sendungsnummer rechnungsnummer auftragsnummer kortingscode streepjescode broncode foutcode",
    r"klantnummer bestelnummer factuurnummer ordernummer rabatkode rabattkod strekkode stregkode streckkod",
    r"postnummer ordrenummer kundenummer viivakoodi alennuskoodi postinumero tilausnumero",
    # "code" first, then what kind: "code postal", "código de barras", "codice fiscale", "code point".
    r"code[-\s](?:postal|barres?|source|promo|d'erreur|de\s(?:réduction|promotion)) code[-\s]?points?",
    r"c[oó]digos?\s(?:postal|de\sbarras|fuente|fonte|promocional|de\s(?:descuento|desconto|error|erro|rastreo))",
    r"codice\s(?:a\sbarre|postale|fiscale|sorgente|sconto|promozionale|(?:di\s)?errore)",
    r"kod\s(?:pocztowy|kreskowy|rabatowy|źródłowy|błędu|promocyjny)",
)
_NUMBER_WORD = r"[- ]?(?:code|codes|number|no\.?|#|id)(?!\w)"
_NEGATIVE = NoCase(
    r"\b(?:"
    + alternation(
        [
            *fragments(*_COMPOUND_HEADS, end=_NUMBER_WORD),
            *fragments(r"account confirmation", end=r"[- ]?(?:number|no\.?|#|id)(?!\w)"),
            *fragments(*_PLAIN_NEGATIVES, end=r"(?!\w)"),
        ]
    )
    + f")|error{_NUMBER_WORD}",  # also glued on, as in "Socketerror code" where a line was unwrapped
    non_ascii=r"\b(?:штрих-?код|промо-?код|код\sошибки)|заказ|订单|注文|条形码|条码|二维码|编码|优惠码|兑换码|源代码"
    r"|(?:バー|エン|デ|ユニ|ソース|文字|qr|クーポン|プロモーション|エラー)コード|郵便番号|追跡番号"
    r"|바코드|우편번호|주문번호|인코딩|인증서",
)
# An imperative just before a token, "use 123456 to …", "enter XK4T9Q": the token is something
# to type. The clause after it (``otp``) must not name an order, invoice or parcel.
_INSTRUCTION = NoCase(
    r"\b(?:"
    + alternation(
        fragments(
            r"use enter type type\sin input copy paste submit provide key\sin fill\sin sign\sin\swith log\sin\swith",
            r"usa utiliza utilice ingresa ingrese",
            r"introduce introduzca escribe escriba digite insira utilisez saisissez entrez tapez",
            r"verwende verwenden\ssie nutze gib geben\ssie inserisci digita gebruik voer använd ange brug bruk",
            r"indtast angi",
        )
    )
    + r")(?:\s(?:the|this|your|following))?[\s:\"'“‘«(\[]*$"
)

# Words that make a subject or a sender's name about signing in ("Sign in to Lumen", "Lumen
# Login"), though in a body they announce no token: "sign in to see your order 884213".
_SIGN_IN = NoCase(
    r"\b(?:"
    + alternation(
        fragments(
            r"sign[-\s]?in sign[-\s]?on log[-\s]?in log[-\s]?on signin magic[-\s]link anmeldung anmelden",
            r"connexion iniciar\ssesión inicio\sde\ssesión accedi accesso inloggen aanmelden logga\sin",
            end=r"\b",
        )
    )
    + ")"
)


def find_cues(text: str) -> list[Cue]:
    """Cue words in order of position; a cue inside a longer opposite one is ignored.

    That is how "gift card code" stays negative although it contains "code", and
    "one-time" stays positive although it contains "time".
    """
    positive = [(m.start(), m.end(), 1) for m in _POSITIVE.finditer(text)]
    negative = [(m.start(), m.end(), -1) for m in _NEGATIVE.finditer(text)]
    kept = [cue for cue in positive if not _inside(cue, negative)]
    kept += [cue for cue in negative if not _inside(cue, positive)]
    return sorted(kept)


def is_about_signing_in(header: str) -> bool:
    """True when a subject or sender name speaks of signing in, which is what codes are sent for."""
    return _SIGN_IN.search(header) is not None


def is_instruction(before: str) -> bool:
    """True when ``before`` ends with an imperative that hands the reader what follows to type."""
    return _INSTRUCTION.search(before) is not None


def _inside(cue: Cue, others: list[Cue]) -> bool:
    """True when a longer cue of ``others`` covers ``cue``.

    ``others`` come from one ``finditer``, so they do not overlap and only the last one
    starting at or before ``cue`` can cover it: a bisection keeps this linear overall.
    """
    index = bisect.bisect_right(others, cue[0], key=lambda other: other[0]) - 1
    if index < 0:
        return False
    start, end, _ = others[index]
    return start <= cue[0] and cue[1] <= end and end - start > cue[1] - cue[0]
