"""`python -m memory_api.cli`: the same as the `memory-api` command."""

from . import main

main()
