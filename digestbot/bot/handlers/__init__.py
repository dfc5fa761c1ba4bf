"""Thin python-telegram-bot handlers: parse the input, call one service, reply.

Modules by what the user does (``bot/commands.py`` maps commands to them):
``basics`` (start, unknown input), ``tags`` (subscriptions and the picker),
``reading`` (digest, summary, watch, brief, search), ``settings`` (time, timezone,
frequency, scores, stop, forget), ``admin`` (bot admins' commands), ``feeds`` (bot
admins' /feeds and /feed), ``membership`` (the bot added to or removed from chats),
``channels`` (/channels, /share and share links), ``managed`` (the chat a settings
command changes: this one, or the channel picked with /channels), ``saved`` (Save,
/saved), ``inline`` (inline mode) and ``guards`` (bot and group admins, flood limits,
the error handler).
"""
