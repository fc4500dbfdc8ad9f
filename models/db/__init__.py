"""Database plumbing, no domain in it: the Tortoise configuration and migrations (config), the
counted engines (asyncpg_fair, sqlite_counted, sql_count), the screens' and the replica's
connections (screen, replica), plain-row reads and linked inserts (row_query, linked_insert),
and telling a database outage from other failures (unavailable)."""
