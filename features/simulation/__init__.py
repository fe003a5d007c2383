"""features.simulation package."""
