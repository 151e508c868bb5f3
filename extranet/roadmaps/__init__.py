"""Territory roadmaps ("feuilles de route"): structured, versioned, comparable."""
