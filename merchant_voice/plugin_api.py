"""The plugin API: everything a plugin may use of the host, and the only host module it imports.

A plugin is a package whose ``plugin.py`` declares it::

    from merchant_voice.plugin_api import Plugin, PluginSettings

    class Settings(PluginSettings):
        greeting: str = "Hello"

    plugin = Plugin(name="notes", version="1.2.0", host_api=">=1.0,<2", settings=Settings,
                    requires=("catalog",), models=".models", hooks=".hooks",
                    blueprints=(".views:bp",), credentials=("api_token",))

Its other modules import what they need from here, and another plugin's
``public`` module only when the declaration ``requires`` that plugin.
Everything else in the host is private to it and may change without notice;
``docs/plugins.md`` documents every name below (a test keeps it so), and
import-linter keeps plugins to this module (the contracts in ``pyproject.toml``).

The contract's version is :data:`HOST_API_VERSION`: a minor version adds to
it, a major version may break it.
"""

from __future__ import annotations

from engines import audio
from engines.asr import Transcriber, Transcript
from engines.audio import Audio
from engines.chat import ChatEngine, ChatRequest, ChatResult, Priority
from engines.errors import (
    EngineCancelled,
    EngineError,
    EngineTimeout,
    EngineUnavailable,
    InvalidAudio,
    ModelNotPrepared,
    VoiceNotFound,
)
from engines.spoken_language import Detection
from engines.tts import SpeechChunk, Synthesizer
from merchant_voice import HOST_API_VERSION
from merchant_voice.accounts import normalize_currency, normalize_locale
from merchant_voice.call_tools import (
    Action,
    CallState,
    CallTool,
    Extractor,
    ToolContext,
    ToolResult,
    fold,
)
from merchant_voice.cli.output import emit, handle_errors, json_option, tell_waiting
from merchant_voice.customers import CustomerContacts, RedactedCustomer, phone_key
from merchant_voice.dashboard.forms import settings_form, text_line, text_table
from merchant_voice.dashboard.i18n import locale_name
from merchant_voice.dashboard.pages import Pager, dashboard_view, page_panels, pager
from merchant_voice.dashboard_page import (
    LISTING,
    OVERVIEW,
    SETTINGS,
    DashboardPage,
    DashboardPanel,
)
from merchant_voice.db import retry_when_busy
from merchant_voice.errors import (
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    MerchantVoiceError,
    NotFound,
    QuotaExceeded,
    StreamProtocolError,
    TenancyViolation,
    Unauthorized,
    ValidationFailed,
)
from merchant_voice.extensions import engines
from merchant_voice.hookspecs import hookimpl
from merchant_voice.job_kinds import JobContext, JobRegistry
from merchant_voice.orm import Base, UTCDateTime, utcnow
from merchant_voice.plugin_declaration import Plugin, PluginSettings
from merchant_voice.plugin_manager import Contribution
from merchant_voice.plugin_resources import N_, PluginResources
from merchant_voice.plugin_services import (
    contributions,
    credential,
    data_dir,
    enqueue_job,
    external_url,
    merchant_sessions,
    plugin_resources,
    signer,
    storage_quota,
)
from merchant_voice.spoken import compact, normalized_digits, spoken_code, spoken_date, spoken_money
from merchant_voice.spreadsheet import read_cell, safe_cell
from merchant_voice.tenancy import MerchantInfo, MerchantOwned, TenantSession
from merchant_voice.web import websocket
from merchant_voice.web.api import (
    MAX_ID,
    ApiBlueprint,
    current_merchant,
    current_settings,
    get_or_404,
    query_int,
    render,
    tenant_session,
)
from merchant_voice.web.hooks import merchant_session
from merchant_voice.web.shop_hooks import (
    SHOPIFY,
    WOOCOMMERCE,
    Delivery,
    DeliveryRecord,
    Platform,
    platform_id,
    pong,
    receive,
)
from models.job import Job, JobStatus

__all__ = [
    "HOST_API_VERSION",
    "LISTING",
    "MAX_ID",
    "N_",
    "OVERVIEW",
    "SETTINGS",
    "SHOPIFY",
    "WOOCOMMERCE",
    "Action",
    "ApiBlueprint",
    "Audio",
    "BadRequest",
    "Base",
    "CallState",
    "CallTool",
    "ChatEngine",
    "ChatRequest",
    "ChatResult",
    "ClientError",
    "Conflict",
    "Contribution",
    "CustomerContacts",
    "DashboardPage",
    "DashboardPanel",
    "Delivery",
    "DeliveryRecord",
    "Detection",
    "EngineCancelled",
    "EngineError",
    "EngineTimeout",
    "EngineUnavailable",
    "Extractor",
    "Forbidden",
    "InvalidAudio",
    "Job",
    "JobContext",
    "JobRegistry",
    "JobStatus",
    "MerchantInfo",
    "MerchantOwned",
    "MerchantVoiceError",
    "ModelNotPrepared",
    "NotFound",
    "Pager",
    "Platform",
    "Plugin",
    "PluginResources",
    "PluginSettings",
    "Priority",
    "QuotaExceeded",
    "RedactedCustomer",
    "SpeechChunk",
    "StreamProtocolError",
    "Synthesizer",
    "TenancyViolation",
    "TenantSession",
    "ToolContext",
    "ToolResult",
    "Transcriber",
    "Transcript",
    "UTCDateTime",
    "Unauthorized",
    "ValidationFailed",
    "VoiceNotFound",
    "audio",
    "compact",
    "contributions",
    "credential",
    "current_merchant",
    "current_settings",
    "dashboard_view",
    "data_dir",
    "emit",
    "engines",
    "enqueue_job",
    "external_url",
    "fold",
    "get_or_404",
    "handle_errors",
    "hookimpl",
    "json_option",
    "locale_name",
    "merchant_session",
    "merchant_sessions",
    "normalize_currency",
    "normalize_locale",
    "normalized_digits",
    "page_panels",
    "pager",
    "phone_key",
    "platform_id",
    "plugin_resources",
    "pong",
    "query_int",
    "read_cell",
    "receive",
    "render",
    "retry_when_busy",
    "safe_cell",
    "settings_form",
    "signer",
    "spoken_code",
    "spoken_date",
    "spoken_money",
    "storage_quota",
    "tell_waiting",
    "tenant_session",
    "text_line",
    "text_table",
    "utcnow",
    "websocket",
]
