"""Computing the roll-ups of one source from its raw rows: cases, survey responses, feedback.

Which day a row belongs to (local date in settings.TIME_ZONE):
cases: the day the case was opened (a cohort: "of the cases opened that week, how many were resolved");
responses: the day the customer submitted; feedback: the day it was received.
"""
