"""Reading what comes back after sending (content/returns.py), on messages shaped like
those real mail servers send: generated here, one per case, each with the finding it
must give."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from pressdispatch.content.returns import Finding, Kind, classify, read_returned

ORIGINAL = (
    "From: Press Office <press@example.org>\n"
    "To: {rcpt}\n"
    "Subject: Campaign in Minsk\n"
    "Message-ID: <minsk.en.abc@example.org>\n"
)


def dsn(
    blocks: list[dict[str, str]], *, mta: str = "dns; mx.example.net", headers: str = ""
) -> EmailMessage:
    """A delivery-status report (RFC 3464) as Postfix, Exim and Exchange shape them."""
    per_recipient = "\n\n".join("\n".join(f"{k}: {v}" for k, v in b.items()) for b in blocks)
    rcpt = blocks[0].get("Final-Recipient", "rfc822; nobody@example.net").split(";")[1].strip()
    raw = (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n"
        "To: bounces+d1.abc@example.org\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Auto-Submitted: auto-replied\n"  # as real reports do: still a report
        f"{headers}"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nI'm sorry to have to inform you...\n\n"
        f"--b\nContent-Type: message/delivery-status\n\nReporting-MTA: {mta}\n\n"
        f"{per_recipient}\n\n"
        f"--b\nContent-Type: text/rfc822-headers\n\n{ORIGINAL.format(rcpt=rcpt)}\n"
        "--b--\n"
    )
    return parse(raw)


def arf(feedback_type: str, *, rcpt_field: bool = True) -> EmailMessage:
    """A feedback report (RFC 5965), as mailbox providers send for "report spam"."""
    field = "Original-Rcpt-To: Ana@Example.org\n" if rcpt_field else ""
    raw = (
        "From: feedback@mailbox.example.com\n"
        "To: bounces+d1.abc@example.org\n"
        "Subject: Abuse report\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="f"\n\n'
        "--f\nContent-Type: text/plain\n\nThis is a spam report.\n\n"
        f"--f\nContent-Type: message/feedback-report\n\nFeedback-Type: {feedback_type}\n"
        f"User-Agent: Example-FBL/1.0\nVersion: 1\n{field}\n"
        f"--f\nContent-Type: message/rfc822\n\n{ORIGINAL.format(rcpt='ana@example.org')}\n"
        "Body\n\n--f--\n"
    )
    return parse(raw)


def parse(raw: str) -> EmailMessage:
    message = message_from_bytes(raw.replace("\n", "\r\n").encode(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def failed(address: str, status: str, diagnostic: str) -> dict[str, str]:
    return {
        "Final-Recipient": f"rfc822; {address}",
        "Action": "failed",
        "Status": status,
        "Diagnostic-Code": f"smtp; {diagnostic}",
    }


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            dsn(
                [
                    failed(
                        "ana@example.org",
                        "5.1.1",
                        "550 5.1.1 <ana@example.org>: Recipient "
                        "address rejected: User unknown in virtual mailbox table",
                    )
                ]
            ),
            [Finding(Kind.HARD, "ana@example.org", "5.1.1")],
            id="postfix-user-unknown",
        ),
        pytest.param(
            dsn(
                [
                    failed(
                        "ben@example.net",
                        "5.0.0",
                        "550 5.1.10 RESOLVER.ADR.RecipientNotFound;"
                        " Recipient not found by SMTP address lookup",
                    )
                ],
                mta="dns; EX01.example.net",
            ),
            [Finding(Kind.HARD, "ben@example.net", "5.1.10")],
            id="exchange-generic-status-gives-way-to-the-diagnostic",
        ),
        pytest.param(
            dsn(
                [failed("ben@example.net", "5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound")],
                mta="dns; EX01.example.net",
            ),
            [Finding(Kind.HARD, "ben@example.net", "5.1.10")],
            id="exchange-recipient-not-found",
        ),
        pytest.param(
            dsn(
                [failed("chen@example.org", "5.2.2", "552 5.2.2 Mailbox full")],
                headers="X-Failed-Recipients: chen@example.org\n",
                mta="dns; exim.example.org",
            ),
            [Finding(Kind.SOFT, "chen@example.org", "5.2.2")],
            id="exim-mailbox-full",
        ),
        pytest.param(
            dsn(
                [
                    {
                        "Final-Recipient": "rfc822; dia@example.org",
                        "Action": "delayed",
                        "Status": "4.4.7",
                        "Diagnostic-Code": "smtp; 451 4.4.7 Try again later",
                    }
                ]
            ),
            [Finding(Kind.NOTHING, "dia@example.org", "4.4.7")],
            id="delayed-changes-nothing",
        ),
        pytest.param(
            dsn(
                [
                    failed(
                        "eve@example.org",
                        "5.7.1",
                        "550 5.7.1 Service unavailable; client host blocked using Spamhaus",
                    )
                ]
            ),
            [Finding(Kind.POLICY, "eve@example.org", "5.7.1")],
            id="policy-block-is-not-the-journalists",
        ),
        pytest.param(
            dsn(
                [
                    failed(
                        "fay@nowhere.invalid",
                        "",
                        "DNS; Host or domain name not found. Name "
                        "service error for name=nowhere.invalid type=MX: Host not found",
                    )
                ]
            ),
            [Finding(Kind.HARD, "fay@nowhere.invalid", "")],
            id="no-such-domain",
        ),
        pytest.param(
            dsn(
                [
                    failed("ana@example.org", "5.1.1", "550 5.1.1 User unknown"),
                    {
                        "Final-Recipient": "rfc822; ben@example.org",
                        "Action": "delivered",
                        "Status": "2.0.0",
                    },
                ]
            ),
            [
                Finding(Kind.HARD, "ana@example.org", "5.1.1"),
                Finding(Kind.NOTHING, "ben@example.org", "2.0.0"),
            ],
            id="one-block-per-recipient",
        ),
        pytest.param(arf("abuse"), [Finding(Kind.COMPLAINT, "ana@example.org")], id="arf-abuse"),
        pytest.param(
            arf("abuse", rcpt_field=False),
            [Finding(Kind.COMPLAINT, "ana@example.org")],
            id="arf-recipient-from-the-returned-message",
        ),
        pytest.param(
            arf("not-spam"), [Finding(Kind.NOTHING, "ana@example.org")], id="arf-not-spam"
        ),
        pytest.param(
            parse(
                "From: Ana <ana@example.org>\nTo: press@example.org\nSubject: Out of office: "
                "Campaign in Minsk\nAuto-Submitted: auto-replied\n\nBack on Monday.\n"
            ),
            [Finding(Kind.AUTO_REPLY, "ana@example.org")],
            id="out-of-office",
        ),
        pytest.param(
            parse(
                "From: Ben <ben@example.org>\nTo: press@example.org\nSubject: Réponse "
                "automatique : Campagne\n\nAbsent jusqu'au 3.\n"
            ),
            [Finding(Kind.AUTO_REPLY, "ben@example.org")],
            id="auto-reply-by-subject-only",
        ),
        pytest.param(
            parse(
                "From: Ana <ana@example.org>\nTo: press@example.org\nSubject: Re: Campaign\n\n"
                "Thanks, could you send the photos?\n"
            ),
            [Finding(Kind.UNRECOGNISED, "")],
            id="a-human-reply-is-not-a-bounce",
        ),
    ],
)
def test_each_returned_message_gives_its_finding(
    message: EmailMessage, expected: list[Finding]
) -> None:
    found = read_returned(message)
    assert [(f.kind, f.recipient, f.status) for f in found] == [
        (e.kind, e.recipient, e.status) for e in expected
    ]


@pytest.mark.parametrize(
    ("status", "diagnostic", "kind"),
    [
        ("5.1.1", "", Kind.HARD),
        ("5.1.2", "", Kind.HARD),
        ("5.1.6", "", Kind.HARD),
        ("5.2.1", "mailbox disabled", Kind.HARD),
        ("5.2.2", "mailbox full", Kind.SOFT),
        ("5.4.4", "", Kind.SOFT),
        ("5.3.0", "", Kind.SOFT),
        ("4.2.0", "", Kind.SOFT),
        ("5.7.26", "unauthenticated email", Kind.POLICY),
        ("5.0.0", "message rejected as spam", Kind.POLICY),
        ("5.1.1", "see our policy at https://example.net", Kind.HARD),  # the code says it
        ("", "", Kind.UNRECOGNISED),
    ],
)
def test_classification_of_status_codes(status: str, diagnostic: str, kind: Kind) -> None:
    assert classify(status, diagnostic) is kind


def test_the_diagnostic_is_kept_for_the_press_office() -> None:
    (finding,) = read_returned(
        dsn([failed("ana@example.org", "5.1.1", "550 5.1.1  User\n unknown")])
    )
    assert finding.diagnostic == "smtp; 550 5.1.1 User unknown"
