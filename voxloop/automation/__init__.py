"""Automation rules: conditions on analysed feedback -> cases, teams, tags, notifications (issue 4)."""
