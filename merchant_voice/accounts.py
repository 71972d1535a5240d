"""Merchants, dashboard users and API keys: the rules, shared by the CLI and the API."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import zoneinfo
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from babel import Locale, UnknownLocaleError
from babel.core import parse_locale
from babel.numbers import list_currencies
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from merchant_voice.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from merchant_voice.orm import utcnow
from merchant_voice.tenancy import MerchantInfo
from models import ApiKey, Merchant, Role, User

if TYPE_CHECKING:
    from merchant_voice.db import Database
    from merchant_voice.plugin_manager import PluginManager

log = logging.getLogger(__name__)

KEY_SCHEME = "mvk"
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LAST_USED_RESOLUTION = timedelta(minutes=1)
STORAGE_MB_MAX = 10_000_000  # 10 TB


def normalize_locale(value: str) -> str:
    """``"de-at"`` -> ``"de_AT"``, ``"zh-cn"`` -> ``"zh_CN"``: the parts written, in Babel's
    case, none added (Babel reads ``zh_CN`` as ``zh_Hans_CN``; compare locales through
    ``Locale.parse``). Raises ValueError for a locale Babel does not know."""
    text = value.strip().replace("-", "_")
    try:
        Locale.parse(text)
        language, territory, script, variant = parse_locale(text)[:4]
    except (UnknownLocaleError, ValueError, TypeError):
        raise ValueError(f"{value!r} is not a known locale") from None
    return "_".join(part for part in (language, script, territory, variant) if part)


def _slug(value: str) -> str:
    if not re.match(SLUG_PATTERN, value):
        raise ValueError(
            f"{value!r} is not a slug: 1-63 lowercase letters, digits and inner hyphens"
        )
    return value


def normalize_currency(value: str) -> str:
    code = value.upper()
    if code not in list_currencies():
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code


def _timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone") from None
    return value


LocaleId = Annotated[str, AfterValidator(normalize_locale)]


class MerchantFields(BaseModel):
    """A merchant's validated fields (CLI and API share these rules)."""

    model_config = ConfigDict(extra="forbid")

    slug: Annotated[str, AfterValidator(_slug)]
    name: str = Field(min_length=1, max_length=200)
    default_locale: LocaleId = "en_US"
    market_locales: list[LocaleId] = []
    currency: Annotated[str, AfterValidator(normalize_currency)] = "USD"
    timezone: Annotated[str, AfterValidator(_timezone)] = "UTC"


def _validated(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from None


def _markets(default_locale: str, market_locales: list[str]) -> list[str]:
    """The merchant's market locales, its default one always first among them."""
    return list(dict.fromkeys([default_locale, *market_locales]))


def create_merchant(session: Session, **fields: Any) -> Merchant:
    """Add a merchant (caller commits). Its default locale is always a market locale."""
    values = _validated(MerchantFields, fields)
    if session.scalar(select(Merchant.id).where(Merchant.slug == values.slug)) is not None:
        raise Conflict(f"a merchant with slug {values.slug!r} already exists")
    markets = _markets(values.default_locale, values.market_locales)
    merchant = Merchant(**values.model_dump(exclude={"market_locales"}), market_locales=markets)
    session.add(merchant)
    _flush_unique(session, f"a merchant with slug {values.slug!r} already exists")
    return merchant


def update_merchant(session: Session, merchant: Merchant, **fields: Any) -> Merchant:
    """Change a merchant's name, locales, currency or time zone (not its slug), by the rules
    it was created with (caller commits); ``ValidationFailed`` names each bad field."""
    current = {
        "slug": merchant.slug,
        "name": merchant.name,
        "default_locale": merchant.default_locale,
        "market_locales": merchant.market_locales,
        "currency": merchant.currency,
        "timezone": merchant.timezone,
    }
    if "slug" in fields:
        raise ValidationFailed(
            "slug: a merchant's slug does not change",
            [{"field": "slug", "message": "does not change"}],
        )
    values = _validated(MerchantFields, {**current, **fields})
    merchant.name, merchant.currency, merchant.timezone = (
        values.name,
        values.currency,
        values.timezone,
    )
    merchant.default_locale = values.default_locale
    merchant.market_locales = _markets(values.default_locale, values.market_locales)
    return merchant


def _flush_unique(session: Session, conflict: str) -> None:
    """Flush; a unique constraint lost to a concurrent writer becomes a Conflict."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(conflict) from None


def onboard_merchant(db: Database, plugins: PluginManager, **fields: Any) -> MerchantInfo:
    """Create a merchant and let every plugin it has enabled seed its data: all or nothing."""
    with db.engine.begin() as connection:
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            merchant = create_merchant(session, **fields).info()
            session.commit()
        with db.tenant_session(merchant, connection) as tenant:
            plugins.call("merchant_created", session=tenant)
            tenant.commit()
    return merchant


def delete_merchant(db: Database, plugins: PluginManager, slug: str) -> MerchantInfo:
    """Delete merchant ``slug`` and everything it owns: its rows go with it (every
    merchant-owned foreign key cascades), then each plugin deletes its files
    (``merchant_deleted``)."""
    with db.host_session() as session:
        merchant = merchant_by_slug(session, slug)
        info = merchant.info()
        session.delete(merchant)
        session.commit()
    log.info("deleted merchant %s (id %d)", slug, info.id)
    plugins.call("merchant_deleted", merchant=info)
    return info


def set_storage_quota(merchant: Merchant, megabytes: int | None) -> None:
    """The merchant's own storage quota, in MB (None: the host's ``[host]
    merchant_storage_mb``); ``ValidationFailed`` naming ``storage_mb`` outside 1 MB to
    10 TB. The caller commits."""
    if megabytes is not None and not 1 <= megabytes <= STORAGE_MB_MAX:
        message = f"{megabytes} is not a quota: give 1 to {STORAGE_MB_MAX} MB"
        raise ValidationFailed(message, [{"field": "storage_mb", "message": message}])
    merchant.storage_mb = megabytes


def merchant_by_slug(session: Session, slug: str) -> Merchant:
    merchant = session.scalars(select(Merchant).where(Merchant.slug == slug)).first()
    if merchant is None:
        raise NotFound(f"no merchant with slug {slug!r}")
    return merchant


def create_user(
    session: Session,
    merchant: Merchant,
    email: str,
    password: str,
    role: str = Role.OWNER,
    locale: str | None = None,
) -> User:
    """Add a dashboard user with a hashed password (caller commits). ``locale``: the
    dashboard's language for them (None: their browser's)."""
    errors = _password_errors(password)
    if locale is not None:
        try:
            locale = normalize_locale(locale)
        except ValueError as exc:
            errors.append({"field": "locale", "message": str(exc)})
    if not EMAIL_PATTERN.match(email):
        errors.insert(0, {"field": "email", "message": f"{email!r} is not an e-mail address"})
    if role not in set(Role):
        errors.append({"field": "role", "message": f"{role!r} is not one of owner, agent"})
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)
    email = email.lower()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email!r} already exists")
    user = User(
        merchant_id=merchant.id,
        email=email,
        password_hash=generate_password_hash(password),
        role=Role(role).value,
        locale=locale,
    )
    session.add(user)
    _flush_unique(session, f"a user with e-mail {email!r} already exists")
    return user


def reset_password(session: Session, merchant: Merchant, email: str, password: str) -> User:
    """Give the merchant's user ``email`` a new password (caller commits): every session
    it had signed in with ends."""
    errors = _password_errors(password)
    if errors:
        raise ValidationFailed(f"password: {errors[0]['message']}", errors)
    user = session.scalars(
        select(User).where(User.merchant_id == merchant.id, User.email == email.lower())
    ).first()
    if user is None:
        raise NotFound(f"{merchant.slug} has no user {email!r}")
    user.password_hash = generate_password_hash(password)
    return user


def _password_errors(password: str) -> list[dict[str, str]]:
    if len(password) < 10:
        return [{"field": "password", "message": "must be at least 10 characters"}]
    return []


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, merchant: Merchant, label: str = "") -> tuple[ApiKey, str]:
    """Add an API key; returns it with the plain key, which is never stored nor shown again."""
    prefix = f"{KEY_SCHEME}_{secrets.token_hex(4)}"
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(merchant_id=merchant.id, prefix=prefix, key_hash=_hash_key(key), label=label)
    session.add(api_key)
    session.flush()
    return api_key, key


def revoke_api_key(session: Session, prefix: str, merchant_id: int | None = None) -> ApiKey:
    """Revoke the key with ``prefix`` (``mvk_1a2b3c4d``, or its hex part); with
    ``merchant_id``, only one of that merchant's keys (another's is not found)."""
    if not prefix.startswith(f"{KEY_SCHEME}_"):
        prefix = f"{KEY_SCHEME}_{prefix}"
    mine = [ApiKey.merchant_id == merchant_id] if merchant_id is not None else []
    api_key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix, *mine)).first()
    if api_key is None:
        raise NotFound(f"no API key with prefix {prefix!r}")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
    return api_key


def authenticate(session: Session, key: str) -> tuple[MerchantInfo, bool]:
    """The merchant an API key acts for, and whether its ``last_used_at`` is due a refresh.

    :class:`Unauthorized` for a malformed, unknown or revoked key.
    """
    scheme, _, rest = key.partition("_")
    hex_part, _, secret = rest.partition("_")
    if scheme != KEY_SCHEME or not hex_part or not secret:
        raise Unauthorized("malformed API key")
    found = session.execute(
        select(ApiKey, Merchant)
        .join(Merchant, Merchant.id == ApiKey.merchant_id)
        .where(ApiKey.prefix == f"{scheme}_{hex_part}")
    ).first()
    if found is None or not hmac.compare_digest(found.ApiKey.key_hash, _hash_key(key)):
        raise Unauthorized("invalid API key")
    api_key, merchant = found.ApiKey, found.Merchant
    if api_key.revoked_at is not None:
        raise Unauthorized(f"API key {api_key.prefix} was revoked")
    last = api_key.last_used_at
    return merchant.info(), last is None or utcnow() - last > LAST_USED_RESOLUTION


def touch_api_key(session: Session, key: str) -> None:
    """Record that ``key`` was used now (its own, write-first transaction)."""
    prefix = "_".join(key.split("_", 2)[:2])
    session.execute(
        update(ApiKey)
        .where(ApiKey.prefix == prefix)
        .values(last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
