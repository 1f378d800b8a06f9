"""``python -m contracts`` runs the CLI."""

from contracts.cli import main

main()
