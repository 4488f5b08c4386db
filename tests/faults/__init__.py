"""Fault harness: crash rounds (``kill -9`` under load) and a request fuzzer (issue 12).

Opt-in: the tests here carry the ``faults`` marker, which ``make test`` deselects. Run them with
``pytest -m faults tests/faults`` (sizes from ``COPYTRADE_FAULTS_*``, see :mod:`faults.sizes`) or
at full size with ``.venv/bin/python bench/faults.py``.
"""
