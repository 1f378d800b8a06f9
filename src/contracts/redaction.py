"""Credentials never leave the process: one redaction for every message, log record and header.

User info in a URL (``http://user:secret@host``) becomes ``http://***@host``;
``password=...``-style values become ``***``. The CLI's error output, its log
handler (``RedactingFilter``), dead-letter headers and registry errors all pass
through ``redact``; clients keep credentials apart from the URL they show
(``split_userinfo``).
"""

from __future__ import annotations

import logging
import re
import urllib.parse

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_SECRET_PAIR = re.compile(r"(?i)(?P<key>\b[\w.-]*(?:password|secret|token|user\.info|api[_.-]?key)[\w.-]*['\"]?\s*[=:]\s*)(?P<q>['\"]?)[^\s'\",;}]+")
_AUTH_HEADER = re.compile(r"(?i)(?P<key>authorization['\"]?\s*[=:]\s*['\"]?(?:basic|bearer)\s+)[^\s'\",;}]+")


def redact(text: str) -> str:
    """``text`` with URL credentials, Authorization values and ``password=...``-style values replaced by ``***``."""
    text = _URL_USERINFO.sub(r"\g<scheme>***@", text)
    text = _AUTH_HEADER.sub(r"\g<key>***", text)
    return _SECRET_PAIR.sub(r"\g<key>\g<q>***", text)


def split_userinfo(url: str) -> tuple[str, str | None]:
    """``(url without user info, "user:password" or None)``; percent-escapes in the user info are undone."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return clean, f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"


class RedactingFilter(logging.Filter):
    """Redacts each record's final message, arguments included, before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
