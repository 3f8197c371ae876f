"""The organisation as a file: teams, queues, escalation teams and people (apply-org)."""
