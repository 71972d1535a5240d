"""Never imported: the plugin is refused before its models load."""

raise AssertionError("the models of a refused plugin must not be imported")
