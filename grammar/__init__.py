"""The .recipe grammar, shipped as package data (recipe.lark)."""
