"""Realistic demo data for trying VoxLoop out: `manage.py load_demo` (see the Makefile)."""
