"""The async use cases. Every writer (dashboard, command line, worker) goes through here."""
