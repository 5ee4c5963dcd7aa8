"""The front end: parsing .recipe text into a typed AST, diagnostics and the formatter."""
