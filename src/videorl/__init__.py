"""videorl."""
