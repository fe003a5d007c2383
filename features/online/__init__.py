"""features.online.online_engine package."""
