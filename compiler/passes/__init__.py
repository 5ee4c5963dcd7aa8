"""Semantic passes, one per module, sequenced in PASSES."""
