"""The Textual dashboard: screens as modes, reading and writing only through the services."""
