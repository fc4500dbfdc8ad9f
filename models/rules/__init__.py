"""Pure rules that need no database: importable and testable without an ORM."""
