"""SQLite, the system of record: connection set-up, migrations, queries. No business rules."""
