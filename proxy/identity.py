"""Who is asking: the API key's tenant, and the end user a request is about."""

from __future__ import annotations

import hmac
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from proxy.config import AuthKey
from proxy.errors import BadRequest, Unauthorized

USER_HEADER = "x-selfmodel-user"
KEY_HEADER = "x-selfmodel-key"
TENANT_HEADER = "x-selfmodel-tenant"
DEFAULT_TENANT = "default"
MAX_USER_LENGTH = 256
MAX_ID_LENGTH = 128  # belief, request and job ids
MAX_OFFSET = 2**62  # SQLite integers are 64-bit: larger values are refused with a 422
# Control, format (zero-width, bidi), surrogate, private-use, unassigned, line/paragraph
# separators: none of them belongs in an id, and each can make two ids look the same.
_NOT_IN_IDS = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@dataclass(frozen=True)
class Principal:
    tenant: str
    admin: bool
    key_name: str | None = None
    client_key: str | None = None  # the caller's provider key, for bring-your-own-key models


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _match_key(presented: str, keys: list[AuthKey]) -> AuthKey | None:
    found = None
    # Compare against every key so timing does not reveal which one matched.
    for key in keys:
        if hmac.compare_digest(presented.encode(), key.key.encode()):
            found = key
    return found


def authenticate(headers: Mapping[str, str], keys: list[AuthKey]) -> Principal:
    bearer = _bearer(headers)
    if not keys:
        return Principal(tenant=DEFAULT_TENANT, admin=True, client_key=bearer)
    explicit = headers.get(KEY_HEADER)
    presented = explicit or bearer
    if not presented:
        raise Unauthorized("Missing API key: send `Authorization: Bearer <key>`.")
    key = _match_key(presented, keys)
    if key is None:
        raise Unauthorized("Incorrect API key provided.")
    tenant = key.tenant
    if key.admin and headers.get(TENANT_HEADER):
        tenant = headers[TENANT_HEADER]
    client_key = bearer if explicit else None
    return Principal(tenant=tenant, admin=key.admin, key_name=key.name, client_key=client_key)


def valid_id(value: object, max_length: int = MAX_USER_LENGTH) -> bool:
    return (
        isinstance(value, str)
        and 1 <= len(value) <= max_length
        and value.strip() == value
        and not any(unicodedata.category(ch) in _NOT_IN_IDS for ch in value)
    )


def validate_user_id(user: str, param: str = "user") -> str:
    if not valid_id(user):
        raise BadRequest(
            f"`{param}` must be a string of 1-{MAX_USER_LENGTH} printable characters "
            "without leading or trailing whitespace",
            param=param,
            code="invalid_user",
        )
    return user


def validate_id(value: str, param: str) -> str:
    """A belief or request id from a path or query: short, printable."""
    if not valid_id(value, MAX_ID_LENGTH):
        raise BadRequest(
            f"`{param}` must be an id of 1-{MAX_ID_LENGTH} printable characters",
            param=param,
            code="invalid_id",
        )
    return value


def end_user(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The OpenAI `user` field, else the X-Selfmodel-User header; None means pass-through."""
    user = body.get("user")
    if user is None or user == "":
        user = headers.get(USER_HEADER) or None
        param = USER_HEADER
    else:
        param = "user"
    return None if user is None else validate_user_id(user, param)
