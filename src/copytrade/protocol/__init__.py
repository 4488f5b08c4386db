"""HTX wire contract shared by the server and the SDK.

Imports nothing from the rest of ``copytrade``: endpoint table (``endpoints``), signature v2
(``signing``), envelopes (``envelope``, ``profiles``), the error-code catalogue
(``error_codes``), the wire vocabulary (``enums``), the decimal formatting rules (``decimals``)
and the reply structures, each declared once (``schema`` for the mechanism, ``replies`` for the
shapes of ``data``, ``copytrading`` for the family's structures, ``sim`` for ``/_sim/``).
"""
