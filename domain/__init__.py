"""Crosslab's rules, free of chat, database and framework: statuses and their
transitions (`model`), what they mean (`events`), the follow-up policy
(`policy`) and the parser of durations in settings (`durations`)."""
