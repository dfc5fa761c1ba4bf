"""Ingestion: briefs in from cards, JSON and feeds; briefs out as Telegram HTML.

``parse`` reads text cards and JSON into :class:`~digestbot.store.models.BriefData`;
``feeds`` reads feed formats; ``fetcher`` downloads a URL (the only HTTP to publishers);
``ingest`` stores what they give and reports each rejected input; ``poller`` polls the
feeds on their schedules; ``feedadmin`` adds, removes, pauses and lists them;
``render`` turns stored briefs into Telegram HTML.

May import: the base modules and ``store``.
"""
