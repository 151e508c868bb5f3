"""The plan Logement d'abord: its 5 priorities and 16 axes (reference data)."""
