"""`python -m stripe_emulator --port 12111 ...`: the emulator without Django (options in cli.py)."""

from stripe_emulator.cli import main

main()
