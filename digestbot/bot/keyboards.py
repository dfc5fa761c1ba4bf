"""Inline keyboards and their callback data (at most 64 bytes, parsed defensively)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from digestbot.readers.chats import TagPage
from digestbot.store.models import MAX_INT32, Chat, Frequency
from digestbot.text import plural

# Callback data formats; anything else is stale or forged.
TAG_TOGGLE = "tg"  # tg:<tag id>:<page>
TAG_PAGE = "tp"  # tp:<page>
TAGS_DONE = "td"
SETTING = "st"  # st:<field>:<value>
FORGET = "fg"  # fg:yes | fg:no
BROADCAST = "bc"  # bc:go|no|stop:<broadcast id>
BROADCAST_SEND, BROADCAST_DROP, BROADCAST_STOP = "go", "no", "stop"
SEARCH_MORE = "sm"  # sm:<search token>:<page>; the words stay server-side with the chat
# Ids, pages and steps in callback data fit a 32-bit column; anything bigger is forged.
MAX_INT_PART = MAX_INT32


def parse(data: str | None) -> list[str] | None:
    """The callback's parts, or None when it is not something this bot made."""
    if not data or len(data.encode()) > 64:
        return None
    parts = data.split(":")
    if parts[0] not in {TAG_TOGGLE, TAG_PAGE, TAGS_DONE, SETTING, FORGET, BROADCAST, SEARCH_MORE}:
        return None
    return parts


def int_part(parts: list[str], index: int) -> int | None:
    try:
        value = int(parts[index])
    except (IndexError, ValueError):
        return None
    return value if -MAX_INT_PART <= value <= MAX_INT_PART else None


def tag_picker(page: TagPage) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            f"{'✓ ' if e.subscribed else ''}{e.slug} ({e.briefs})",
            callback_data=f"{TAG_TOGGLE}:{e.id}:{page.page}",
        )
        for e in page.entries
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    if page.pages > 1:
        nav = []
        if page.page > 0:
            nav.append(InlineKeyboardButton("‹ Prev", callback_data=f"{TAG_PAGE}:{page.page - 1}"))
        here = InlineKeyboardButton(
            f"{page.page + 1}/{page.pages}", callback_data=f"{TAG_PAGE}:{page.page}"
        )
        nav.append(here)
        if page.page < page.pages - 1:
            nav.append(InlineKeyboardButton("Next ›", callback_data=f"{TAG_PAGE}:{page.page + 1}"))
        rows.append(nav)
    rows.append([InlineKeyboardButton("Done", callback_data=TAGS_DONE)])
    return InlineKeyboardMarkup(rows)


def search_more(token: str, page: int) -> InlineKeyboardMarkup:
    """ "More" under a page of search results."""
    button = InlineKeyboardButton("More", callback_data=f"{SEARCH_MORE}:{token}:{page}")
    return InlineKeyboardMarkup([[button]])


def settings_keyboard(chat: Chat) -> InlineKeyboardMarkup:
    def mark(freq: str) -> str:
        return f"✓ {freq}" if chat.frequency == freq else freq

    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Time −1h", callback_data=f"{SETTING}:time:-60"),
                InlineKeyboardButton("Time +1h", callback_data=f"{SETTING}:time:60"),
            ],
            [
                InlineKeyboardButton(mark(f.value), callback_data=f"{SETTING}:freq:{f.value}")
                for f in Frequency
            ],
            [
                InlineKeyboardButton("Min score −1", callback_data=f"{SETTING}:min:-1"),
                InlineKeyboardButton("Min score +1", callback_data=f"{SETTING}:min:1"),
            ],
            [
                InlineKeyboardButton("Size −1", callback_data=f"{SETTING}:size:-1"),
                InlineKeyboardButton("Size +1", callback_data=f"{SETTING}:size:1"),
            ],
        ]
    )


def forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes, delete everything", callback_data=f"{FORGET}:yes"),
                InlineKeyboardButton("Cancel", callback_data=f"{FORGET}:no"),
            ]
        ]
    )


def broadcast_confirm(broadcast_id: int, chats: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"Send to {plural(chats, 'chat')}",
                    callback_data=f"{BROADCAST}:{BROADCAST_SEND}:{broadcast_id}",
                ),
                InlineKeyboardButton(
                    "Cancel", callback_data=f"{BROADCAST}:{BROADCAST_DROP}:{broadcast_id}"
                ),
            ]
        ]
    )


def broadcast_running(broadcast_ids: list[int]) -> InlineKeyboardMarkup:
    """A Stop button for each broadcast under way."""
    label = "Stop sending" if len(broadcast_ids) == 1 else "Stop #{}"
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label.format(broadcast_id),
                    callback_data=f"{BROADCAST}:{BROADCAST_STOP}:{broadcast_id}",
                )
            ]
            for broadcast_id in broadcast_ids
        ]
    )
