"""Returned mail as real servers shape it, generated for the tests: each message is
addressed to one delivery's return path (``bounces+<token>@example.org``) unless the
token is empty (a report to the bare address)."""

from __future__ import annotations

ORIGINAL = (
    "From: Test Press Office <press@example.org>\n"
    "To: {rcpt}\n"
    "Subject: Campaign in Minsk\n"
    "Message-ID: {message_id}\n"
    "{extra}"
)


def _to(token: str) -> str:
    return f"bounces+{token}@example.org" if token else "bounces@example.org"


def _crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


def failed(address: str, status: str, diagnostic: str) -> dict[str, str]:
    return {
        "Final-Recipient": f"rfc822; {address}",
        "Action": "failed",
        "Status": status,
        "Diagnostic-Code": f"smtp; {diagnostic}",
    }


def dsn(
    token: str,
    blocks: list[dict[str, str]],
    *,
    report_id: str = "<report.1@mx.example.net>",
    returned_token: str = "",
    message_id: str = "<unknown.en.0@example.org>",
) -> bytes:
    """A delivery-status report (RFC 3464), Postfix-shaped."""
    per_recipient = "\n\n".join("\n".join(f"{k}: {v}" for k, v in b.items()) for b in blocks)
    rcpt = blocks[0]["Final-Recipient"].split(";")[1].strip()
    extra = f"X-Pressdispatch-Delivery: {returned_token}\n" if returned_token else ""
    original = ORIGINAL.format(rcpt=rcpt, message_id=message_id, extra=extra)
    return _crlf(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
        f"To: {_to(token)}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: {report_id}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nI'm sorry to have to inform you...\n\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
        f"{per_recipient}\n\n"
        f"--b\nContent-Type: text/rfc822-headers\n\n{original}\n"
        "--b--\n"
    )


def arf(
    token: str, feedback_type: str, message_id: str, *, report_id: str = "<fbl.1@fbl.example>"
) -> bytes:
    """A feedback report (RFC 5965): a "report spam" click, or its undoing."""
    original = ORIGINAL.format(rcpt="ana@example.org", message_id=message_id, extra="")
    return _crlf(
        "From: feedback@mailbox.example.com\n"
        f"To: {_to(token)}\n"
        "Subject: Abuse report\n"
        f"Message-ID: {report_id}\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="f"\n\n'
        "--f\nContent-Type: text/plain\n\nThis is a spam report.\n\n"
        f"--f\nContent-Type: message/feedback-report\n\nFeedback-Type: {feedback_type}\n"
        "User-Agent: Example-FBL/1.0\nVersion: 1\n\n"
        f"--f\nContent-Type: message/rfc822\n\n{original}\nBody\n\n--f--\n"
    )


def auto_reply(token: str) -> bytes:
    return _crlf(
        "From: Ben <ben@example.org>\n"
        f"To: {_to(token)}\n"
        "Subject: Out of office: Campaign in Minsk\n"
        "Message-ID: <away.1@example.org>\n"
        "Auto-Submitted: auto-replied\n\n"
        "I am away until Monday.\n"
    )


def qmail(token: str, address: str, said: str) -> bytes:
    """A non-standard bounce (qmail's), about ``address``."""
    return _crlf(
        "From: MAILER-DAEMON@mx.example.net\n"
        f"To: {_to(token)}\n"
        "Subject: failure notice\n"
        "Message-ID: <qmail.1@mx.example.net>\n\n"
        "Hi. This is the qmail-send program at mx.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{address}>:\n{said}\n\n"
        "--- Below this line is a copy of the message.\n\n"
        "From: press@example.org\nSubject: Campaign in Minsk\n\nBody\n"
    )
