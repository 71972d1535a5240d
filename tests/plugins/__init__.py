"""Plugins used by the tests, loaded as built-ins through ``[plugins] packages``.

``notes`` is a complete plugin (models, migrations, API, templates, prompts,
translations, jobs, every hook); ``flaky`` raises in its hooks; ``broken``
fails to import and ``future`` needs a host API this host does not provide.
"""
