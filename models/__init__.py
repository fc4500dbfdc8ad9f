"""The data and the rules, by purpose: rules/ (pure, no ORM), tables/ (the Tortoise models, one
module a domain), messages/ (the texts), db/ (database plumbing), access and session_cache (who
may do what), ops/ (operations and reads), demo/ (demo data), migrations/. A domain's tables,
operations and rules carry its name in each; docs/design.md section 12.1 has the map."""
