"""features.ingest package."""
