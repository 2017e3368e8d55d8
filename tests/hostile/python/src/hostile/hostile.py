"""Nothing to see here."""
