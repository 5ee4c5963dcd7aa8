"""`python -m recipekit.compiler` is the same as the `recipekit` command."""

from .cli import main

raise SystemExit(main())
