"""Insights: the pure computations behind early warning, root causes, drivers and segments.

Every module here works on plain numbers and records (numpy arrays, mappings, dataclasses): no Django, no
database, no clock, so it can be tested on hand-made data and called from pages, tasks and benchmarks alike.
"""
