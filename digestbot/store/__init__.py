"""Storage: the models, the engine and sessions, the migrations, and every query.

Owns the schema (``models``), connecting and migrating (``db``, ``migrations/``) and
the queries, as keyword-only async functions taking a session, one module per
aggregate, lowest first: ``tags``, ``kv``, ``feeds``, ``audit``, ``filters``
(readers' filters and tag weights); ``briefs`` and ``chats`` (which name tags);
``planning``, ``outbox`` and ``broadcasts``. ``sql`` holds what they share.
Callers write ``store.find_items(session=..., ...)``: every query is re-exported here
by name, so moving one between modules changes no caller. Callers own the transaction
(``db.session_scope``): no query commits.

May import: the base modules (``config``, ``errors``, ``logs``, ``zones``) only.
"""

from digestbot.store.audit import add_audit
from digestbot.store.briefs import (
    Item,
    Outcome,
    count_briefs,
    count_items,
    find_items,
    get_item,
    items_by_ids,
    iter_briefs,
    max_brief_id,
    search_items,
    tags_of,
    upsert_briefs,
)
from digestbot.store.broadcasts import (
    add_broadcast,
    broadcasts_with_status,
    cancel_broadcast,
    count_audience,
    finish_broadcast,
    get_broadcast,
    outbox_outcomes,
    recent_broadcasts,
    start_broadcast,
)
from digestbot.store.chats import (
    ChatFigures,
    add_subscription,
    chat_figures,
    chat_tags,
    delete_chat,
    get_or_create_chat,
    move_chat,
    remove_all_subscriptions,
    remove_subscription,
)
from digestbot.store.feeds import all_feeds
from digestbot.store.filters import (
    FilterKey,
    add_filter,
    delete_shaping,
    filters_of,
    list_filters,
    remove_filter,
    remove_filter_terms,
    save_weights,
    shaping_of,
    weights_of,
)
from digestbot.store.kv import get_or_set_value
from digestbot.store.outbox import (
    PRUNE_BATCH,
    Claimed,
    OutboxStats,
    cancel_chat_rows,
    claim_due,
    enqueue,
    failures_since,
    mark_sent,
    outbox_stats,
    prune_outbox,
    release_in_flight,
    release_rows,
    reschedule,
    sent_since,
)
from digestbot.store.planning import (
    BriefWindow,
    DigestRow,
    DueChat,
    ScheduleMove,
    brief_window,
    due_chats,
    save_plan,
    unscheduled_chats,
    update_chats,
)
from digestbot.store.tags import TagCount, ensure_tags, tag_counts, tag_ids, top_tags

__all__ = [
    "PRUNE_BATCH",
    "BriefWindow",
    "ChatFigures",
    "Claimed",
    "DigestRow",
    "DueChat",
    "FilterKey",
    "Item",
    "OutboxStats",
    "Outcome",
    "ScheduleMove",
    "TagCount",
    "add_audit",
    "add_broadcast",
    "add_filter",
    "add_subscription",
    "all_feeds",
    "brief_window",
    "broadcasts_with_status",
    "cancel_broadcast",
    "cancel_chat_rows",
    "chat_figures",
    "chat_tags",
    "claim_due",
    "count_audience",
    "count_briefs",
    "count_items",
    "delete_chat",
    "delete_shaping",
    "due_chats",
    "enqueue",
    "ensure_tags",
    "failures_since",
    "filters_of",
    "find_items",
    "finish_broadcast",
    "get_broadcast",
    "get_item",
    "get_or_create_chat",
    "get_or_set_value",
    "items_by_ids",
    "iter_briefs",
    "list_filters",
    "mark_sent",
    "max_brief_id",
    "move_chat",
    "outbox_outcomes",
    "outbox_stats",
    "prune_outbox",
    "recent_broadcasts",
    "release_in_flight",
    "release_rows",
    "remove_all_subscriptions",
    "remove_filter",
    "remove_filter_terms",
    "remove_subscription",
    "reschedule",
    "save_plan",
    "save_weights",
    "search_items",
    "sent_since",
    "shaping_of",
    "start_broadcast",
    "tag_counts",
    "tag_ids",
    "tags_of",
    "top_tags",
    "unscheduled_chats",
    "update_chats",
    "upsert_briefs",
    "weights_of",
]
