"""``python -m cognito_jwt``: the command-line interface."""

from ._cli import main

raise SystemExit(main())
