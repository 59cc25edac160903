"""One date and time format per language, used wherever a page or an e-mail prints a date (FORMAT_MODULE_PATH).

Both languages write dates as 2026-12-07 and times as 12:11 (24 hours): the same on every page, sortable, and
read the same way by Chinese and English readers. Templates say {{ value|date:"DATETIME_FORMAT" }} or print the
value plainly, never a pattern of their own.
"""
