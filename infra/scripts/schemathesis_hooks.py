"""Schemathesis hooks used by infra/scripts/schemathesis.sh.

Random data almost never gets past two gates of the API, so without help the success responses
(and everything behind the gates: the mailer, the accept path) would hardly be checked:

* `POST /delegates` needs `notice_version` equal to the server's current notice version: three
  generated bodies in four that carry a string there get the current version (ST_NOTICE_VERSION);
  one in fifty gets a name of 17,000 characters instead, to check the 413 response.
* `POST /invitations/accept` needs a real invitation token, which only exists in the emails: half
  the generated bodies whose token has the documented form get one read from the local server's
  outbox (ST_OUTBOX); malformed tokens are left alone so that negative cases stay negative.
  Tokens are single-use, so later picks of the same token check the 410 response.

Decisions are derived from the generated body itself (not from a random source) so that
Hypothesis can replay and shrink failing cases.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import zlib
from pathlib import Path

import schemathesis

NOTICE_VERSION = os.environ.get("ST_NOTICE_VERSION", "2026-01")
OUTBOX = os.environ.get("ST_OUTBOX")
TOKEN_IN_LINK = re.compile(r"[?&]token=([A-Za-z0-9_.-]+)")
TOKEN_FORM = re.compile(
    r"[A-Za-z0-9_-]+\.[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}"
)

_tokens_by_file: dict[str, str | None] = {}


def _well_formed(token: object) -> bool:
    return isinstance(token, str) and len(token) <= 512 and TOKEN_FORM.fullmatch(token) is not None


def _digest(body: object) -> int:
    return zlib.crc32(json.dumps(body, sort_keys=True, default=repr).encode())


def _outbox_tokens() -> list[str]:
    if not OUTBOX:
        return []
    for path in sorted(Path(OUTBOX).glob("*.eml")):
        if path.name not in _tokens_by_file:
            _tokens_by_file[path.name] = _token_in(path)
    return [token for token in _tokens_by_file.values() if token]


def _token_in(path: Path) -> str | None:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            found = TOKEN_IN_LINK.search(part.get_content())
            if found:
                return found.group(1)
    return None


@schemathesis.hook
def map_body(context, body):
    operation = context.operation
    if operation is None or not isinstance(body, dict):
        return body
    route = (operation.method.upper(), operation.path)
    if route == ("POST", "/delegates") and isinstance(body.get("notice_version"), str):
        digest = _digest(body)
        if digest % 50 == 0:
            return {**body, "name": "x" * 17_000}
        if digest % 4 != 0:
            return {**body, "notice_version": NOTICE_VERSION}
    elif route == ("POST", "/invitations/accept") and _well_formed(body.get("token")):
        # Only tokens the schema allows are swapped, so that negative cases stay negative.
        digest = _digest(body)
        tokens = _outbox_tokens()
        if tokens and digest % 2 == 0:
            return {**body, "token": tokens[(digest // 2) % len(tokens)]}
    return body
