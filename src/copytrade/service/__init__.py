"""Use cases: one handler per command over a unit of work; imports the domain and its ports."""
