"""Who is signed in: a merchant's dashboard user, as Flask-Login keeps them.

The session holds the user's id and a fingerprint of their password hash: a new
password (``users reset-password``) ends every session signed in with the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from functools import cache

from flask import current_app
from flask import session as signed_in
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from merchant_voice.extensions import database
from merchant_voice.tenancy import MerchantInfo
from models import Merchant, Role, User

SIGNED_IN_AT = "signed_in_at"  # in the session: when its user signed in (Unix seconds)


@dataclass(frozen=True)
class DashboardUser:
    """The signed-in user (Flask-Login's user object)."""

    id: int
    email: str
    role: Role
    merchant: MerchantInfo
    fingerprint: str
    locale: str | None  # the dashboard's language they chose; None: their browser's

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return f"{self.id}:{self.fingerprint}"

    @property
    def is_owner(self) -> bool:
        return self.role is Role.OWNER


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _user(row: User, merchant: Merchant) -> DashboardUser:
    fingerprint = _fingerprint(row.password_hash)
    return DashboardUser(
        row.id, row.email, Role(row.role), merchant.info(), fingerprint, row.locale
    )


def load_user(session_id: str) -> DashboardUser | None:
    """Flask-Login's user loader: None (signed out) for an unknown or outdated session, or
    one signed in longer ago than the session lasts (however active it has been)."""
    user_id, _, fingerprint = session_id.partition(":")
    started = signed_in.get(SIGNED_IN_AT)
    lasts = current_app.permanent_session_lifetime.total_seconds()
    if not user_id.isdigit() or not isinstance(started, int) or time.time() - started > lasts:
        return None
    with database().host_session() as session:
        found = session.execute(
            select(User, Merchant)
            .join(Merchant, Merchant.id == User.merchant_id)
            .where(User.id == int(user_id))
        ).first()
        if found is None:
            return None
        user = _user(*found)
    return user if hmac.compare_digest(user.fingerprint, fingerprint) else None


def authenticate(email: str, password: str) -> DashboardUser | None:
    """The user ``email`` when ``password`` is theirs; None otherwise."""
    with database().host_session() as session:
        found = session.execute(
            select(User, Merchant)
            .join(Merchant, Merchant.id == User.merchant_id)
            .where(User.email == email.strip().lower())
        ).first()
        if found is None:  # as long as a wrong password takes: no telling who has an account
            check_password_hash(_no_one(), password)
            return None
        row, merchant = found
        if not check_password_hash(row.password_hash, password):
            return None
        return _user(row, merchant)


@cache
def _no_one() -> str:
    return generate_password_hash(secrets.token_hex(16))
