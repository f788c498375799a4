# The ganzoo_registry and ganzoo_check fixtures.
pytest_plugins = ["ganzoo.testing.pytest_plugin"]
