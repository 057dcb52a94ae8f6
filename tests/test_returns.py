"""Reading what comes back after sending (content/returns.py), on messages shaped like
those real mail servers send: generated here, one per case, each with the finding it
must give."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from flufl.bounce import all_failures
from hypothesis import given
from hypothesis import strategies as st

from pressdispatch.bounces import parse as parse_returned
from pressdispatch.content.returns import Finding, Kind, classify, read_returned

from . import returns_mail
from .returns_mail import failed

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


# Bounces in no standard format, read by flufl.bounce when the delivery's recipient is known.


def qmail(
    rcpt: str, said: str, *, sender: str = "From: MAILER-DAEMON@mx.example.net\n"
) -> EmailMessage:
    """A bounce as qmail-send writes it (QSBMF): no report part, the address in angle
    brackets, the remote server's words under it, then a copy of the message."""
    return parse(
        f"{sender}To: bounces+d1.abc@example.org\nSubject: failure notice\n\n"
        "Hi. This is the qmail-send program at mx.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        f"<{rcpt}>:\n{said}\n\n"
        "--- Below this line is a copy of the message.\n\n"
        f"{ORIGINAL.format(rcpt=rcpt)}\nBody\n"
    )


NO_MAILBOX = "Sorry, no mailbox here by that name. (#5.1.1)"


def remote_said(reply: str) -> str:
    return f"192.0.2.7 does not like recipient.\nRemote host said: {reply}\nGiving up on 192.0.2.7."


def fails(message: EmailMessage) -> set[str]:
    """Every address flufl.bounce reads as failing, to show a fixture makes it guess."""
    temporary, permanent = all_failures(message)
    return {address.decode() for address in temporary | permanent}


@pytest.mark.parametrize(
    ("message", "kind", "status"),
    [
        pytest.param(qmail("ana@example.org", NO_MAILBOX), Kind.HARD, "5.1.1", id="no-mailbox"),
        pytest.param(
            qmail("ana@example.org", remote_said("550 5.7.1 Message blocked as spam")),
            Kind.POLICY,
            "5.7.1",
            id="blocked-as-spam-is-not-the-journalists",
        ),
        pytest.param(
            qmail("ana@example.org", remote_said("452 4.2.2 Mailbox is full")),
            Kind.SOFT,
            "4.2.2",
            id="mailbox-full",
        ),
        pytest.param(
            qmail("ana@example.org", "Sorry, I couldn't find any host by that name."),
            Kind.HARD,
            "",
            id="a-failure-without-a-code",
        ),
    ],
)
def test_a_non_standard_bounce_for_the_recipient_is_read(
    message: EmailMessage, kind: Kind, status: str
) -> None:
    (finding,) = read_returned(message, expected="ana@example.org")
    assert (finding.kind, finding.recipient, finding.status) == (kind, "ana@example.org", status)
    assert finding.diagnostic.startswith("<ana@example.org>: ")


def test_the_words_next_to_the_address_are_kept_for_the_press_office() -> None:
    (finding,) = read_returned(qmail("ana@example.org", NO_MAILBOX), expected="ana@example.org")
    assert finding.diagnostic == f"<ana@example.org>: {NO_MAILBOX}"


def test_a_non_standard_bounce_for_another_address_is_not_acted_on() -> None:
    message = qmail("ana.private@mail.example.com", NO_MAILBOX)  # where ana's mail was forwarded
    assert fails(message) == {"ana.private@mail.example.com"}
    assert read_returned(message, expected="ana@example.org") == [Finding(Kind.UNRECOGNISED, "")]


def test_a_non_standard_bounce_is_not_read_without_the_expected_address() -> None:
    assert read_returned(qmail("ana@example.org", NO_MAILBOX)) == [Finding(Kind.UNRECOGNISED, "")]


def test_an_address_quoted_in_a_forwarded_bounce_is_not_acted_on() -> None:
    message = parse(
        "From: Ana <ana@example.org>\nTo: press@example.org\nSubject: Fwd: failure notice\n\n"
        "Is this one yours? It came to me by mistake.\n\n"
        "---------- Forwarded message ---------\n"
        "From: MAILER-DAEMON@mx.example.net\nSubject: failure notice\n\n"
        "Hi. This is the qmail-send program at mx.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
        f"<zed@elsewhere.example>:\n{NO_MAILBOX}\n\n"
        "--- Below this line is a copy of the message.\n"
    )
    assert fails(message) == {"zed@elsewhere.example"}
    assert read_returned(message, expected="ana@example.org") == [Finding(Kind.UNRECOGNISED, "")]


def test_the_words_are_those_about_the_recipient_not_a_longer_address() -> None:
    message = qmail(
        "diana@example.org",
        remote_said("550 5.7.1 Message blocked as spam") + f"\n\n<ana@example.org>:\n{NO_MAILBOX}",
    )
    assert fails(message) == {"diana@example.org", "ana@example.org"}
    assert read_returned(message, expected="ana@example.org") == [
        Finding(Kind.HARD, "ana@example.org", "5.1.1", f"<ana@example.org>: {NO_MAILBOX}")
    ]


def test_a_warning_that_delivery_is_still_tried_changes_nothing() -> None:
    """flufl.bounce's temporary failures are such warnings: like a ``delayed`` report,
    nothing to count against the journalist; the failure, if it comes, bounces again."""
    message = parse(
        "From: Mail Delivery Subsystem <mailer-daemon@mx.example.net>\n"
        "To: bounces+d1.abc@example.org\nSubject: Delivery Status Notification (Delay)\n\n"
        "Delivery to the following recipient has been delayed:\n\n     ana@example.org\n\n"
        "Message will be retried for 2 more day(s)\n"
    )
    assert all_failures(message) == ({b"ana@example.org"}, set())
    assert read_returned(message, expected="ana@example.org") == [
        Finding(Kind.NOTHING, "ana@example.org", "", "ana@example.org")
    ]


def test_a_bounce_the_fallback_trips_on_is_unrecognised_not_an_error() -> None:
    # flufl.bounce 6.0 raises IndexError on a message without a From (its Yale detector)
    message = qmail("ana@example.org", NO_MAILBOX, sender="")
    with pytest.raises(IndexError):
        all_failures(message)
    assert read_returned(message, expected="ana@example.org") == [Finding(Kind.UNRECOGNISED, "")]


def test_a_report_is_read_before_the_fallback() -> None:
    message = dsn([failed("ana@example.org", "5.7.1", "550 5.7.1 blocked")])
    assert read_returned(message, expected="ana@example.org") == read_returned(message)


def test_an_auto_reply_stays_an_auto_reply_with_the_recipient_known() -> None:
    message = parse(
        "From: Ana <ana@example.org>\nTo: press@example.org\nSubject: Out of office\n"
        "Auto-Submitted: auto-replied\n\nBack on Monday.\n"
    )
    assert read_returned(message, expected="ana@example.org") == [
        Finding(Kind.AUTO_REPLY, "ana@example.org")
    ]


SEEDS = [
    returns_mail.dsn("abc", [failed("ana@example.org", "5.1.1", "550 5.1.1 unknown")]),
    returns_mail.arf("abc", "abuse", "<m.en.1@example.org>"),
    returns_mail.qmail("abc", "ana@example.org", "Sorry, no mailbox here by that name."),
    returns_mail.auto_reply("abc"),
]
DAMAGE = st.sampled_from(
    [b"\x00", b"<", b">", b";", b"\r\n", b"=?utf-8?q?", b'"', b"@", b"\xff\xfe", b"(", b"\\"]
)


@pytest.mark.parametrize(
    "header", [b"From: Mailer <", b"Message-ID: <@>", b"To: a@b, :;", b'From: "x" <a@']
)
def test_headers_the_standard_library_cannot_parse_still_read(header: bytes) -> None:
    raw = header + b"\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway.\r\n"
    [finding] = read_returned(parse_returned(raw), expected="ana@example.org")
    assert finding.kind is Kind.AUTO_REPLY


@given(
    seed=st.sampled_from(SEEDS),
    cuts=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 12), DAMAGE), max_size=6),
)
def test_damaged_returned_mail_is_read_without_an_error(
    seed: bytes, cuts: list[tuple[float, int, bytes]]
) -> None:
    """What comes back is often malformed; reading it never raises (the standard library's
    parsed headers do on some of these, hence the lenient parse in bounces.py)."""
    raw = bytearray(seed)
    for where, dropped, inserted in cuts:
        at = int(where * (len(raw) - 1))
        raw[at : at + dropped] = inserted
    message = parse_returned(bytes(raw))
    findings = read_returned(message, expected="ana@example.org")
    assert findings and all(isinstance(f.kind, Kind) for f in findings)
