"""A realistic one-time-code email as raw MIME, for the pipeline and raw/SMTP ingest benchmarks.

``otp_message(target_bytes)`` builds what a sign-in service sends: a full header block (Received,
ARC/DKIM/Authentication-Results, List-Unsubscribe), ``multipart/alternative`` with a
quoted-printable ``text/plain`` part and a table-layout ``text/html`` part with inline CSS,
a verification link, help/privacy/unsubscribe links, social icons and a tracking pixel. The
body is padded with a "recent sign-in activity" table (as such mails carry) to reach
``target_bytes``. ``MARKER`` stands in the Message-ID (and the verification token), so a load
tool can make each delivery unique by replacing it with 20 hex digits.

``big_message(size)`` is a 25 MB-class message for the peak-memory runs: the same headers, a short
text part and a base64 attachment (76-character lines, as MTAs send it).
"""

# ruff: noqa: E501 (the templates below are mail content; their lines are as long as real ones)

from __future__ import annotations

import base64
import os
import quopri

MARKER = "@@BENCH_ID@@"
#: The code every generated message carries; the pipeline benchmark checks Slack got it.
OTP_CODE = "482913"
RECIPIENT = "login@in.bench.example.net"
SENDER = "security@accounts.example.com"
DOMAIN = "in.bench.example.net"

_HEADERS = f"""\
Return-Path: <bounces+1f3a.{MARKER}@mail.accounts.example.com>
Delivered-To: {RECIPIENT}
X-Original-To: {RECIPIENT}
Received: from o1.mail.accounts.example.com (o1.mail.accounts.example.com [198.51.100.23])
\tby mx.in.bench.example.net (Postfix) with ESMTPS id 4Rb8kL2x9Zz9sTq
\tfor <{RECIPIENT}>; Tue, 14 Nov 2023 09:12:41 +0000 (UTC)
Received: by filterdrecv-5d7c9f8b6-x2kqz with SMTP id filterdrecv-5d7c9f8b6-x2kqz-1-65533A56-1C
\t2023-11-14 09:12:38.601212331 +0000 UTC m=+1189345.114718502
ARC-Seal: i=1; a=rsa-sha256; t=1699953161; cv=none; d=in.bench.example.net; s=arc-2023;
\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBqdXN0IGJlbmNoIHBhZGRpbmcgZm9yIHRoZSBoZWFkZXI=
ARC-Authentication-Results: i=1; mx.in.bench.example.net; dkim=pass header.d=accounts.example.com;
\tspf=pass smtp.mailfrom=mail.accounts.example.com; dmarc=pass header.from=accounts.example.com
Authentication-Results: mx.in.bench.example.net; dkim=pass header.d=accounts.example.com;
\tspf=pass smtp.mailfrom=bounces+1f3a@mail.accounts.example.com; dmarc=pass header.from=accounts.example.com
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=accounts.example.com; s=s1;
\th=from:to:subject:date:message-id:mime-version:content-type; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==
MIME-Version: 1.0
From: =?UTF-8?Q?Widget_Co_Acc=C3=B6unts?= <{SENDER}>
To: "Login Bot" <{RECIPIENT}>
Reply-To: support@accounts.example.com
Subject: =?UTF-8?Q?Your_Widget_Co_verification_code_=E2=80=93_{OTP_CODE}?=
Date: Tue, 14 Nov 2023 10:12:38 +0100
Message-ID: <{MARKER}@mail.accounts.example.com>
List-Unsubscribe: <https://accounts.example.com/u/{MARKER}>, <mailto:unsubscribe@accounts.example.com>
List-Unsubscribe-Post: List-Unsubscribe=One-Click
X-Entity-Ref-ID: {MARKER}
"""

_TEXT_HEAD = f"""\
Hi there,

Your Widget Co verification code is: {OTP_CODE}

Enter it on the sign-in page within 10 minutes. Or open this link to confirm it is you:
https://accounts.example.com/verify?token={MARKER}&utm_source=email

If you did not try to sign in, change your password at https://accounts.example.com/security
and nobody will get into your account without this code.

Recent sign-in activity on your account:
"""

_TEXT_FOOT = """
Questions? Visit https://help.example.com/sign-in or reply to this message.

Widget Co · 1 Market Street · Springfield
Privacy: https://example.com/privacy  Unsubscribe: https://accounts.example.com/unsubscribe
"""

_HTML_HEAD = f"""\
<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your verification code</title>
<style>body{{margin:0;padding:0;background:#f4f5f7;font-family:Helvetica,Arial,sans-serif}}
.wrap{{width:100%;background:#f4f5f7}}.card{{max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px}}
.code{{font-size:32px;letter-spacing:6px;font-weight:bold;color:#111111}}
.muted{{color:#6b7280;font-size:12px}}td.row{{padding:6px 12px;border-bottom:1px solid #eeeeee}}</style>
</head><body><table class="wrap" role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td>
<table class="card" role="presentation" width="560" cellpadding="0" cellspacing="0" align="center">
<tr><td style="padding:24px 32px"><img src="https://cdn.example.com/logo.png" width="120" height="32" alt="Widget Co"></td></tr>
<tr><td style="padding:0 32px"><h1 style="font-size:20px;margin:0 0 12px">Verify it's you</h1>
<p style="font-size:15px;line-height:22px;margin:0 0 16px">Hi there,<br>Your Widget Co verification code is:</p>
<p class="code" style="margin:0 0 16px">{OTP_CODE}</p>
<p style="font-size:15px;line-height:22px">Enter it on the sign-in page within 10 minutes, or
<a href="https://accounts.example.com/verify?token={MARKER}&amp;utm_source=email" style="color:#2563eb">confirm with one click</a>.</p>
<p style="font-size:15px;line-height:22px">If you did not try to sign in,
<a href="https://accounts.example.com/security" style="color:#2563eb">change your password</a>.</p>
<h2 style="font-size:15px;margin:24px 0 8px">Recent sign-in activity</h2>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="font-size:13px;color:#374151">
"""

_HTML_FOOT = """\
</table></td></tr>
<tr><td style="padding:24px 32px" class="muted">Questions? Visit our
<a href="https://help.example.com/sign-in" style="color:#6b7280">help centre</a> or reply to this message.<br>
Widget Co &middot; 1 Market Street &middot; Springfield<br>
<a href="https://example.com/privacy" style="color:#6b7280">Privacy</a> &middot;
<a href="https://accounts.example.com/unsubscribe" style="color:#6b7280">Unsubscribe</a></td></tr>
<tr><td style="padding:0 32px 24px"><a href="https://twitter.com/widgetco"><img src="https://cdn.example.com/tw.png" width="24" height="24" alt="Twitter"></a>
<a href="https://www.facebook.com/widgetco"><img src="https://cdn.example.com/fb.png" width="24" height="24" alt="Facebook"></a>
<a href="https://www.linkedin.com/company/widgetco"><img src="https://cdn.example.com/li.png" width="24" height="24" alt="LinkedIn"></a></td></tr>
</table></td></tr></table>
<img src="https://t.example.com/open.gif?m=@@BENCH_ID@@" width="1" height="1" alt="" style="display:none">
</body></html>
"""

_CITIES = ["Berlin, Germany", "Lisbon, Portugal", "Toronto, Canada", "Osaka, Japan", "Austin, United States"]
_AGENTS = ["Firefox on Linux", "Safari on macOS", "Chrome on Windows", "Widget Co app on Android", "Edge on Windows"]


def _activity(i: int) -> tuple[str, str]:
    """One row of the activity table: (text line, HTML row); no code-shaped numbers in it."""
    when = f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][i % 7]} at {(8 + i) % 24:02d}:{(i * 7) % 60:02d}"
    where, agent = _CITIES[i % len(_CITIES)], _AGENTS[(i * 3) % len(_AGENTS)]
    status = "signed in" if i % 4 else "sign-in blocked (wrong password)"
    text = f"  - {when}: {agent}, near {where}: {status}\n"
    html = (
        f'<tr><td class="row" style="padding:6px 12px;border-bottom:1px solid #eeeeee">{when}</td>'
        f'<td class="row" style="padding:6px 12px;border-bottom:1px solid #eeeeee">{agent}<br>'
        f'<span style="color:#6b7280">near {where}</span></td>'
        f'<td class="row" style="padding:6px 12px;border-bottom:1px solid #eeeeee">{status}</td></tr>\n'
    )
    return text, html


def _qp(text: str) -> bytes:
    return quopri.encodestring(text.encode("utf-8")).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _assemble(rows: int) -> bytes:
    text, html = _TEXT_HEAD, _HTML_HEAD
    for i in range(rows):
        t, h = _activity(i)
        text, html = text + t, html + h
    text, html = text + _TEXT_FOOT, html + _HTML_FOOT
    headers = _HEADERS.replace("\n", "\r\n").encode()
    boundary = b"=_alt_5f1c9e0b7d3a"
    parts = [
        headers,
        b'Content-Type: multipart/alternative; boundary="' + boundary + b'"\r\n\r\n',
        b"This is a multi-part message in MIME format.\r\n\r\n",
        b"--" + boundary + b"\r\n",
        b"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
        _qp(text),
        b"\r\n--" + boundary + b"\r\n",
        b"Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
        _qp(html),
        b"\r\n--" + boundary + b"--\r\n",
    ]
    return b"".join(parts)


def otp_message(target_bytes: int = 20 * 1024) -> bytes:
    """The OTP email with as many activity rows as keep it at or just under ``target_bytes``."""
    rows = 0
    while len(_assemble(rows + 1)) <= target_bytes:
        rows += 1
    return _assemble(rows)


def with_id(template: bytes, unique: str) -> bytes:
    """``template`` with every ``MARKER`` replaced by ``unique`` (20 hex digits keep the size)."""
    return template.replace(MARKER.encode(), unique.encode())


def big_message(size: int) -> bytes:
    """About ``size`` bytes: the OTP headers, a short text part and one base64 attachment."""
    head = _HEADERS.replace("\n", "\r\n").encode()
    boundary = b"=_mixed_0a1b2c3d"
    text = _qp(f"Your Widget Co verification code is: {OTP_CODE}\nThe export you asked for is attached.\n")
    room = max(0, size - len(head) - len(text) - 600)
    raw = os.urandom(room * 57 // 78)  # base64: 57 bytes → 76 characters + CRLF
    encoded = base64.encodebytes(raw).replace(b"\n", b"\r\n")  # 76-character lines
    return b"".join(
        [
            head,
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n',
            b"--" + boundary + b"\r\n",
            b"Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
            text,
            b"\r\n--" + boundary + b"\r\n",
            b'Content-Type: application/octet-stream; name="export.bin"\r\n',
            b'Content-Disposition: attachment; filename="export.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
            encoded,
            b"\r\n--" + boundary + b"--\r\n",
        ]
    )
