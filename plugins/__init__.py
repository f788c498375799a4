"""ganzoo's built-in plugins. Each module registers through the same ``ganzoo`` entry points a third party uses."""
