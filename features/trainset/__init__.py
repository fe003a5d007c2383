"""features.trainset package."""
