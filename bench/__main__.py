"""`python -m bench`: see `bench._cli`."""

from bench._cli import main

raise SystemExit(main())
