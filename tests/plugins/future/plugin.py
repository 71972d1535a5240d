"""A plugin for a host API this host does not provide: refused."""

from merchant_voice.plugin_api import Plugin

plugin = Plugin(name="future", version="3.0.0", host_api=">=2.0", models=".models")
