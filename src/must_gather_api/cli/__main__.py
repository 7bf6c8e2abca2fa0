"""`python -m must_gather_api.cli` is `must-gather-api`."""

from must_gather_api.cli.main import main

main()
