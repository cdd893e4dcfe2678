"""`python -m infra` runs the `cledger` command line."""

from infra.cli import main

main()
