"""A plugin whose hooks raise: the host must log, report and carry on."""

from __future__ import annotations

from merchant_voice.plugin_api import Plugin

plugin = Plugin(
    name="flaky", version="0.1.0", host_api="~=1.0", requires=("notes",), hooks=".hooks"
)
