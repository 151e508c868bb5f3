"""Administration: accounts, invitations, territories, audit log."""
