"""HTX wire contract shared by the server and the SDK.

Imports nothing from the rest of ``copytrade``: endpoint table, signature v2, envelope,
error-code catalogue and the decimal/wire formatting rules of the spec.
"""
