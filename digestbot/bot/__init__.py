"""The bot: the application (the composition root), handlers and everything PTB-facing.

``app`` wires the services into a PTB ``Application``; ``commands`` is the one command
table (handlers, ``/help``, menus); ``handlers/`` answer updates; ``keyboards`` builds
the inline keyboards; ``context`` gives handlers their typed services; ``processing``
orders updates per chat; ``jobs`` are the scheduled ticks; ``webhook`` and ``metrics``
serve HTTP; ``stats`` gathers what ``/stats`` shows and ``status`` words it.

May import: every package below it (base, ``store``, ``briefs``, ``readers``,
``delivery``); nothing imports ``bot`` except ``cli`` and ``console``.
"""
