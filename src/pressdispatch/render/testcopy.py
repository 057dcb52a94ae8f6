"""What marks a test copy: "[Test]" before the subject and a banner atop each part.

A test copy goes to the press office (``pressdispatch send-test``, the console), never
to a journalist, and is not recorded as a delivery; the journalists' copies are never
marked.
"""

from __future__ import annotations

import re

__all__ = ["TEST_SUBJECT", "TEST_TEXT", "mark_as_test"]

# A test copy goes to the press office, whose console speaks English: not translated.
TEST_SUBJECT = "[Test] "
_TEST_NOTE = "sent by the press office to this address only; it is not recorded as a delivery."
TEST_TEXT = f"*** TEST COPY · {_TEST_NOTE} ***\n\n"
_TEST_HTML = (
    '<div lang="en" dir="ltr" style="padding: 12px 28px; background: #fde68a; color: #7c2d12; '
    'font-family: Arial, sans-serif; font-size: 15px; border-bottom: 2px solid #b45309;">'
    f"<strong>TEST COPY</strong> · {_TEST_NOTE}</div>"
)
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def _banner(html: str) -> str:
    """``html`` with the test banner first in its body (first of all without a body tag)."""
    body = _BODY.search(html)
    at = body.end() if body else 0
    return html[:at] + "\n" + _TEST_HTML + html[at:]


def mark_as_test(subject: str, text: str, html: str) -> tuple[str, str, str]:
    """The subject, text and HTML of a copy, marked as a test copy."""
    return TEST_SUBJECT + subject, TEST_TEXT + text, _banner(html)
