"""What a remote MTA's error text says went wrong, in words every MTA family uses.

A *cause* is finer than the public ``Reason``: it also decides hard vs soft (a disabled mailbox
and an unknown one are both ``user_unknown``, but only the unknown one is ``hard``). The
patterns are the phrasings of the SMTP servers and mailbox providers in wide use (Postfix,
Exim, Sendmail, qmail, Exchange/Office 365, Gmail, Yahoo, Domino, Courier, Zimbra ...), grouped
by meaning, so an MTA that is not in any corpus still matches when it says the usual thing.
Order matters: the first group that matches wins, so narrow meanings come before broad ones.
"""

from __future__ import annotations

import re
from typing import Literal

from service.mail.bounce import Reason

Cause = Literal[
    "user_unknown",
    "has_moved",
    "host_unknown",
    "not_accept",
    "suspend",
    "mailbox_full",
    "too_large",
    "expired",
    "policy",
    "other",
]

# cause -> (public reason, hard?)
CAUSES: dict[Cause, tuple[Reason, bool]] = {
    "user_unknown": ("user_unknown", True),
    "has_moved": ("user_unknown", True),
    "host_unknown": ("domain_not_found", True),
    "not_accept": ("domain_not_found", True),
    "suspend": ("user_unknown", False),
    "mailbox_full": ("mailbox_full", False),
    "too_large": ("too_large", False),
    "expired": ("expired", False),
    "policy": ("policy", False),
    "other": ("other", False),
}


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


_W = r"[\w.+'/=-]"  # a character of a quoted address or word

TEXT_RULES: tuple[tuple[Cause, re.Pattern[str]], ...] = (
    (
        # Microsoft's directory-based edge blocking and its imitators: the recipient is not in
        # the directory, phrased as an access error.
        "user_unknown",
        _rx(r"\brecipient address rejected: access denied"),
    ),
    (
        # The *sender* was refused (at MAIL FROM, or its domain does not resolve): says nothing
        # about the recipient, so it must win over the unknown-user/host wordings below.
        "policy",
        _rx(
            r"\bsender (address|domain)\b|\bdomain of sender\b|\bunroutable sender|\bafter mail from\b",
            r"\bin reply to mail from\b|\bmy name was rejected|\bsender verif\w* fail",
        ),
    ),
    (
        "mailbox_full",
        _rx(
            r"\b(mail ?box|mail ?folder|in ?box|account|user|recipient|disk|storage)\b[^.;]{0,40}\b(is |are )?(full|"
            r"over ?(the )?quota)",
            r"\bover ?quota\b|\bquota (exceeded|full|limit)|exceed(s|ed|ing)? (the |his |her |their |its |your )?"
            r"(mailbox |storage |disk |email |account |user )?(quota|storage)",
            r"\binsufficient (disk |system )?(space|storage)|not enough (disk |storage )?space|no space left",
            r"\bdis[ck] quota|\bmailbox size limit exceeded|\btoo many messages in (the )?(mailbox|folder)",
            r"\b(mailbox|account|user)\b.{0,20}\b(exceeded|reached) (its|the|their) (storage |size |maximum )?(limit|"
            r"quota|size)",
            r"\bfull mailbox|\bquota\b.{0,30}\b(exceeded|reached|full)",
        ),
    ),
    (
        "too_large",
        _rx(
            r"\bmessage (size |length )?(is )?too (big|large|long)|\b(size|length) (of (the )?message )?exceeds",
            r"\bexceeds? (the )?(maximum|max|fixed|allowed|message) (allowed )?(message )?size",
            r"\bmessage size (limit|exceeds)|\b(maximum|max) (message |mail )?size|\bsize limit exceeded",
            r"\bmessage (file )?too (big|large)|\bmail too (big|large)|\btoo much mail data|"
            r"\bexceeds .{0,20}size limit",
        ),
    ),
    (
        # the receiving host's own delivery agent failed (procmail, maildrop, a pipe): a mail
        # system error at the destination, whatever the agent says about the user
        "other",
        _rx(
            r"\b(procmail|maildrop|local delivery agent|command (died|failed)|pipe to \||couldn'?t create|"
            r"can'?t create)\b"
        ),
    ),
    (
        "has_moved",
        _rx(r"\buser not local; please try\b", r"\b(address|mailbox|recipient|user)\b.{0,20}\bhas (been )?moved\b"),
    ),
    (
        "suspend",
        _rx(
            r"\b(account|mail ?box|user|address|recipient|e-?mail)\b[^.;:]{0,40}\b(is |has been |was |been )?"
            r"(disabled|suspended|deactivated|inactive|locked|frozen|blocked by (the )?(admin|owner)|expired|closed|"
            r"discontinued)",
            r"\b(disabled|suspended|deactivated|inactive|locked|closed|expired|discontinued) "
            r"(account|mail ?box|user|address|recipient)",
            r"\bnot an active (address|account|mailbox|user)|\bis not active\b|\bno longer (active|in use|available)",
            r"\[SUSPEND\]|\bmailbox (currently )?suspended",
        ),
    ),
    (
        "policy",
        _rx(
            # relaying, sender-side authentication and reputation: the address itself is fine
            r"\brelay(ing)? (access |is )?(denied|not (permitted|allowed))|\bunable to relay|\bnot permitted to relay",
            r"\bwe do not relay|\bno relaying|\brelay not permitted|\bnot a gateway|\brcpthosts\b",
            r"\b(dmarc|spf|dkim|sender ?id)\b.{0,60}\b(fail|reject|not pass|does not pass|policy|invalid|violat)",
            r"\b(fail|failed|does not pass|not pass)\b.{0,40}\b(dmarc|spf|dkim)\b|\bauthentication (is )?required",
            r"\bauthentication (checks? )?(fail|failed|failure)",
            r"\b(blacklist|blocklist|black list|block list|denylist|rbl|dnsbl|spamhaus|spamcop|barracuda|sorbs|uribl|"
            r"surbl)",
            r"\b(spam|junk|unsolicited|bulk mail|phish|virus|malware|infected)\b",
            r"\b(poor|bad|low) reputation|\breputation\b.{0,30}\b(block|reject|poor|bad|low)",
            r"\breverse (dns|lookup|hostname)|\bptr (record|lookup)|\bno ptr\b|\brdns\b|\bhelo\b.{0,30}\b(reject|"
            r"invalid|denied)",
            r"\b(ip|host|sender|client|domain|network|connection|mail server|message)\b.{0,40}\b(is )?(blocked|banned|"
            r"listed|blacklisted)",
            r"\b(access|service) (denied|refused)|\bnot (authori[sz]ed|allowed) to send|\bsender (address )?(rejected|"
            r"denied|blocked)",
            r"\bcontent (rejected|filter|policy)|\bpolicy (violation|reasons|rejection)|\b(rejected|blocked) (for|by|"
            r"due to|because of) (a |the )?"
            r"(policy|content|security|filter|administrative)",
            r"\bmessage (was )?(rejected|refused|blocked) (as|because|by|for|due)|\b(refused|"
            r"rejected) by (the )?(filter|content)",
            r"\bTLS (is )?required|\bmust (use|issue a) STARTTLS|\bencryption required|"
            r"\bcertificate (verification )?fail",
            r"\btoo many (messages|connections|recipients|emails)|\brate limit|\b(sending|send) limit|\bthrottl",
            r"\bnot accepted for policy|\bprohibited\b|\bnot permitted\b|\bdeclined\b|\brecipient'?s? preferences?\b",
        ),
    ),
    (
        "not_accept",
        _rx(
            r"\bnot accepting (network )?messages|\bindicated no smtp service|\bno smtp service\b|\bnull mx\b|"
            r"\b(does not|doesn't|do not) accept (any )?(e-?)?mail|\baccepts no mail|\bno mail (is )?accepted"
        ),
    ),
    (
        "host_unknown",
        _rx(
            r"\b(host|domain|hostname|mail domain|mx)( name)? (not found|unknown|does not exist|doesn't exist|"
            r"not exist)",
            r"\bunknown (host|domain)|\bno such (host|domain)|\bname or service not known|\bnxdomain\b",
            r"\bunrouteable mail domain|\bunrouteable domain|\bno (mx|mail exchanger|valid mx|"
            r"mail host)s?\b.{0,30}\b(record|found|for)",
            r"\bdomain\b.{0,40}\b(does not|doesn't|do not) exist|\binvalid (recipient )?domain|\bhost not found",
            r"\b(dns|domain) (lookup|resolution) (failed|error)|\bnon-?existent (host|domain)|"
            r"\bdomain (is )?not (valid|registered)",
            r"\bno route to host\b.{0,20}\b(domain|host)|\bdomain (is )?(not reachable|unreachable)",
            r"\b[a-z0-9-]+(\.[a-z0-9-]+)+\.? (does not|doesn't) exist",
        ),
    ),
    (
        "user_unknown",
        _rx(
            r"\b(user|mailbox|recipient|addressee|account|alias|address|local part|e-?mail( address)?|destination) "
            r"(name )?(is )?(unknown|not found|does not exist|doesn't exist|not exist|not listed|not valid|invalid|"
            r"unavailable|not known)",
            r"\bunknown (user|recipient|mailbox|address|local[- ]part|alias|account|addressee)",
            r"\bno such (user|mailbox|recipient|address|account|person|local user|alias)|\bno (mail ?box|user) (here|"
            r"by that name|available|found)",
            r"\binvalid (recipient|mailbox|user|address|account|e-?mail)|\bbad (recipient|destination|address)|"
            r"\bbadrcptto",
            r"\b(is )?not a (known|valid|local) (user|recipient|mailbox|address)|\bnot our customer|\bno longer (on|at|"
            r"with) ",
            r"\bmailbox unavailable|\bmailbox (not found|unknown)|\baddress unknown|\brecipient rejected",
            r"\bundeliverable address|\bunrouteable address|\bdoes not have an? (account|mailbox)|\bhas no (account|"
            r"mailbox)",
            r"\bthe (email )?account (that )?you tried to reach (does not exist|is disabled)|\bisn't a valid|"
            r"\bcould ?n[o']t be found",
            r"\b(does not|doesn't) have an? \S+ account|\bnot listed in\b|\bno valid recipients?\b",
            r"\b(user|recipient|mailbox|address) \S{0,60} (does not exist|doesn't exist|not exist|unknown)",
            r"\bno (such )?mailbox\b|\bmailbox\b.{0,30}\b(does not|doesn't) exist|\bnot (a )?valid (recipient|mailbox|"
            r"user)",
            r"\bunknown or illegal alias|\baddress (does not|doesn't) exist|\bnie istnieje|\bnon esiste|"
            r"\bexistiert nicht",
        ),
    ),
    (
        "expired",
        _rx(
            r"\bretry (timeout|time) (exceeded|expired)|\b(message|delivery) (time )?expired|\bgiving up\b|\bgave up\b",
            r"\b(could not be|not been|has not been|was not|couldn't be) delivered (within|for|in) \d+|\bfor \d+ (days|"
            r"hours)\b",
            r"\btoo long in (the )?queue|\bqueue (lifetime|expir)|\bmaximum (delivery )?time|\bexpired\b|"
            r"\bundeliverable for",
            r"\bdelivery (attempts|time) (exceeded|expired)|\btimeout exceeded|\bdelay(ed)? too long",
            r"\bhave been failing for a long time|\bretry time not reached for any host",
        ),
    ),
)

# Catch-all wordings: they say the address was refused but not why, so a precise enhanced
# status code beats them (``5.1.1 Address rejected`` is an unknown user, ``5.6.0 Recipient
# address rejected: Media error`` a content problem).
WEAK_RULES: tuple[tuple[Cause, re.Pattern[str]], ...] = (
    ("user_unknown", _rx(r"\b(recipient )?address rejected\b")),
    ("policy", _rx(r"\b(rejected|refused|blocked|denied|not allowed|forbidden)\b")),
)

# "User unknown" and nothing more: what filtering front-ends (mobile carriers, appliances)
# answer to DATA for mail they refuse, so after DATA it does not prove the mailbox is gone.
_TERSE_UNKNOWN = re.compile(
    r"^(user unknown|unknown user|no such user|user not found|unknown recipient|recipient unknown)( here)?$",
    re.IGNORECASE,
)
_NOISE = re.compile(
    r"\([^)]*\)|\bin reply to\b.*|[<\[]?\S+@\S+|\b[245]\d\d\b|#?\b[245]\.\d{1,3}\.\d{1,3}\b|"
    r"recipient address rejected|[^A-Za-z ]",
    re.IGNORECASE,
)
_LAST_REPLY = re.compile(r".*\b[45]\d\d(?=[ :-])", re.DOTALL)


# Receivers known to answer a bare "User unknown" for mail their users' reception filters
# refuse (Japanese mobile carriers' "designated domain" filters: au/KDDI EZweb, NTT docomo),
# so from them that answer does not prove the mailbox is gone.
FILTERING_RECEIVERS = frozenset({"ezweb.ne.jp", "docomo.ne.jp"})


def filtering_receiver(address: str) -> bool:
    domain = address.rpartition("@")[2].lower()
    return any(domain == d or domain.endswith("." + d) for d in FILTERING_RECEIVERS)


def terse_unknown_user(text: str | None) -> bool:
    """True when the remote reply is only a bare unknown-user phrase (codes and addresses aside)."""
    if not text:
        return False
    reply = _LAST_REPLY.sub("", text, count=1)  # the remote server's own words follow its code
    return _TERSE_UNKNOWN.match(" ".join(_NOISE.sub(" ", reply).split())) is not None


def text_cause(text: str | None) -> Cause | None:
    """The first cause whose phrases appear in the text (specific rules first), or ``None``."""
    return specific_cause(text) or weak_cause(text)


def specific_cause(text: str | None) -> Cause | None:
    if not text:
        return None
    return next((cause for cause, pattern in TEXT_RULES if pattern.search(text)), None)


def weak_cause(text: str | None) -> Cause | None:
    if not text:
        return None
    return next((cause for cause, pattern in WEAK_RULES if pattern.search(text)), None)
