"""The ``notes`` test plugin: a complete example of the contract, with every hook."""

from __future__ import annotations

from merchant_voice.plugin_api import Plugin, PluginSettings


class NotesSettings(PluginSettings):
    max_length: int = 200
    greeting: str = "Hello"
    welcome_note: bool = True


plugin = Plugin(
    name="notes",
    version="1.2.0",
    host_api=">=1.0,<2",
    description="Merchant notes (test plugin)",
    settings=NotesSettings,
    models=".models",
    hooks=".hooks",
    blueprints=(".views:bp", ".dashboard:bp"),
)
