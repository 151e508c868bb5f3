"""Accounts: login, invitations, password reset, profile."""
