"""Working groups ("groupes de travail"): thematic groups animated by the
national team, their members, join requests, and their discussion threads."""
