"""The data and the rules: Tortoise models, pure rule modules and domain operations."""
