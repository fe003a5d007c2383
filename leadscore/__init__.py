"""leadscore package."""
