"""Home page, language choice, pages of sections still to come."""
