"""The pure scoring core: attempt and result types, features, scorer, levels.

Nothing here does I/O, reads the clock or imports an adapter.
"""
