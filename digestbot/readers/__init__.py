"""Readers: each chat's choices and what it asks to read.

``chats`` owns registration, subscriptions and settings; ``digests`` answers the
reading commands (a digest now, a summary, what to watch, one brief, search).

May import: the base modules, ``store`` and ``briefs``.
"""
