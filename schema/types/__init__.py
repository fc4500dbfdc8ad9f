"""GraphQL object types, built from plain database rows."""
