"""The words around a token that say whether it is a one-time code or some other number.

Kept apart from the scoring in ``otp`` because this is the part that grows: every language
and every kind of reference number a sender can print adds a word here, not logic there.
Positive cues announce a code ("verification code", "PIN", "código"); negative cues
announce something else ("order #", "gift card code", "error code", "phone").
"""

from __future__ import annotations

import bisect

from workers.extract.nocase import NoCase

__all__ = ["Cue", "find_cues"]

Cue = tuple[int, int, int]  # (start, end, polarity) of a cue word in a line


def _words(*groups: str) -> str:
    """Join space-separated regex fragments into one alternation."""
    return "|".join(word for group in groups for word in group.split())


# Words that announce a code. No leading word boundary on "code" so compounds such as
# "Bestätigungscode" or "verificatiecode" count; CJK terms have no word boundaries at all.
_POSITIVE = NoCase(
    r"c[oó]d(?:e|es|ice|igo)\b|\b(?:"
    + _words(
        r"one[-\s]?time otp pass[-\s]?code pin tan security 2fa mfa two[-\s]?(?:factor|step) token senha clave",
        r"temporary\spassword kode kod koodi confirm(?:ation|ación|ação)?",
    )
    + r")\b|\b(?:"
    + _words(r"verif(?:y|ication|ier|izierung|icación|icação|ica|icatie|iera) vérifi bestätig sicherheits authenticat")
    + r"|authentifi|doğrulama|weryfikac|пароль|код)|验证码|校验码|动态码|确认码|認証|確認コード|ワンタイム|コード|인증"
)
# Words that announce some other number. Compounds that end in "code" ("gift card code",
# "postcode", "error code") are matched whole so the "code" inside them never counts as
# positive evidence; short generic words ("ID", "No.") take no such suffix, so "Apple ID
# code" stays positive.
_COMPOUND_HEADS = _words(
    r"gift[-\s]?card promo(?:tion(?:al)?)? coupon discount voucher referral redemption redeem tracking track",
    r"post(?:al)? zip area country product item reference ref serial customer member(?:ship)? pnr",
    r"(?:order|booking|reservation|flight)(?:\sconfirmation)? invoice receipt ticket case model version build",
    r"shipment shipping parcel package delivery phone tel telephone fax mobile status response reason result",
    r"return exit bank sort swift bic branch routing tax vat diagnostic smtp http qr bar source",
    r"bestellung pedido commande ordine rechnung factura facture fattura",
)
_PLAIN_NEGATIVES = _words(
    r"gift[-\s]?card promo(?:tion(?:al)?)? coupon discount voucher referral redemption redeem tracking track zip",
    r"booking reservation flight pnr order invoice receipt reference ref ticket case customer serial sku model",
    r"version build shipment shipping parcel package delivery phone tel telephone fax mobile call ending\sin",
    r"last\s(?:4|four) card suite street avenue ave apt floor p\.?o\.?\sbox price total subtotal amount",
    r"balance payment paid refund usd eur gbp date ip port id no\. nr\. error status diagnostic iban bic swift",
    r"bestellung pedido commande ordine rechnung factura facture fattura",
)
_NEGATIVE = NoCase(
    rf"(?:\b(?:{_COMPOUND_HEADS})|error)[- ]?(?:code|codes|number|no\.?|#|id)(?!\w)"
    r"|\b(?:account|confirmation)[- ]?(?:number|no\.?|#|id)(?!\w)"
    rf"|\b(?:{_PLAIN_NEGATIVES})(?!\w)|заказ|订单|注文"
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
