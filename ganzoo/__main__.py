"""``python -m ganzoo`` runs the CLI."""

from ganzoo.cli import main

main()
