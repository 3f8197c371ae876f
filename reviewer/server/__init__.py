"""reviewer-server: the backend service in front of PostgreSQL (see reviewer.server.app)."""
