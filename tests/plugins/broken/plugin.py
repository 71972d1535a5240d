"""A plugin that fails to import: the host must refuse it and carry on."""

import merchant_voice_module_that_does_not_exist  # noqa: F401
