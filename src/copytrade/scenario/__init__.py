"""Scripted scenarios: markets, traders, followers, timed actions and expected outcomes.

``copytrade scenario run FILE`` (:mod:`copytrade.cli.scenario`) loads a TOML file
(:mod:`copytrade.scenario.model`), runs it against a fresh store on a server of its own
(:mod:`copytrade.scenario.runner`) and prints a report checked against the file's
expectations (:mod:`copytrade.scenario.report`).
"""
