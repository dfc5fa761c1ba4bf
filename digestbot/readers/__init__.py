"""Readers: each chat's choices and what it asks to read.

``chats`` owns registration, subscriptions and settings; ``digests`` answers the
reading commands (a digest now, a summary, what to watch, one brief, search);
``filters`` owns each chat's filters and feedback weights, and ``shaping`` the pure
rules they follow (matching, decay, ranking), which planning uses too.
``channels`` keeps who manages which channel and the shared tag lists; ``saved`` the
briefs each user saved.

May import: the base modules, ``store`` and ``briefs``.
"""
