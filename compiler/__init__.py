"""The compiler: semantic checks over the AST and lowering to plan.json."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("recipekit")
except PackageNotFoundError:  # running from a tree that was never installed
    __version__ = "0.0.0+unknown"
