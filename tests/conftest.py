"""Fixtures shared by every test folder (the lead store's databases)."""

pytest_plugins = ["store_fixtures"]
