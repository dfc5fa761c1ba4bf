"""``python -m digestbot`` is the ``digestbot`` command."""

from digestbot.cli import main

main()
