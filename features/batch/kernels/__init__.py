"""features.batch.batch_engine.kernels package."""
