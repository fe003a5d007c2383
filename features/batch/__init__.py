"""features.batch.batch_engine package."""
