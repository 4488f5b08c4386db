"""Implementations of the service ports: the only place with SQL, sockets or the real clock."""
