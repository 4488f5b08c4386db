"""The pure trading core: stdlib only, no clock, randomness, I/O or framework.

Every input, time and ids included, arrives as an argument.
"""
