"""The bot: the application (the composition root), handlers and everything PTB-facing.

``app`` wires the services into a PTB ``Application``; ``handlers/`` answer updates;
``context`` gives handlers their typed services; ``processing`` orders updates per
chat; ``jobs`` are the scheduled ticks; ``webhook`` and ``metrics`` serve HTTP;
``stats`` gathers what ``/stats`` shows.

May import: every package below it (base, ``store``, ``briefs``, ``readers``,
``delivery``); nothing imports ``bot`` except ``cli`` and ``console``.
"""
