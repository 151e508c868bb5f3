"""The agenda: Amicalls, "club des territoires" days, working group meetings
and webinars, with registration, waitlist and per-territory seats."""
