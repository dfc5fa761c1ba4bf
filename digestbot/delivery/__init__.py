"""Delivery: pushed messages, from schedule rules to Telegram's acceptance.

``schedule`` holds the pure rules of when a chat is due; ``planner`` turns due chats
into outbox rows (``window``: the briefs as bit masks it assembles digests from);
``sender`` drains the outbox within Telegram's limits (``parts`` renders a digest's
parts in the chat's language and style, with ``feedback``'s row); ``broadcasts`` queues
and reports admin broadcasts; ``leader`` elects the one replica that plans and sends.

May import: the base modules, ``store``, ``briefs`` and ``readers``.
"""
