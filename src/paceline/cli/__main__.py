"""`python -m paceline.cli`: the same as the `paceline` command."""

from paceline.cli import main

main()
