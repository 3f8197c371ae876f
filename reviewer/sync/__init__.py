"""Moving work between the local replica and the backend: outbox push and cursor pull."""
