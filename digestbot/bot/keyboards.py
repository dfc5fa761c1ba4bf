"""Inline keyboards and their callback data (at most 64 bytes, parsed defensively)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from digestbot import i18n
from digestbot.delivery import feedback
from digestbot.i18n import N_, _, count
from digestbot.readers.chats import TagPage
from digestbot.store.models import MAX_INT32, Chat, Frequency

# Callback data formats; anything else is stale or forged.
TAG_TOGGLE = "tg"  # tg:<tag id>:<page>
TAG_PAGE = "tp"  # tp:<page>
TAGS_DONE = "td"
SETTING = "st"  # st:<field>:<value>
FORGET = "fg"  # fg:yes | fg:no
BROADCAST = "bc"  # bc:go|no|stop:<broadcast id>
BROADCAST_SEND, BROADCAST_DROP, BROADCAST_STOP = "go", "no", "stop"
FILTER_REMOVE = "fr"  # fr:<filter id>  (/filters: remove one)
MUTE = "mu"  # mu:tag|src:<brief id> (mute a brief's tag or source) | mu:undo:<filter id>
MUTE_TAG, MUTE_SOURCE, MUTE_UNDO = "tag", "src", "undo"
# fb:up|down:<brief id> (one brief) | fb:all:up|down | fb:tune (a digest): defined in
# delivery with the digest's feedback row, which pushed digests carry too
FEEDBACK, FEEDBACK_ALL, FEEDBACK_TUNE = (
    feedback.FEEDBACK,
    feedback.FEEDBACK_ALL,
    feedback.FEEDBACK_TUNE,
)
FEEDBACK_UP, FEEDBACK_DOWN = feedback.FEEDBACK_UP, feedback.FEEDBACK_DOWN
CHANNEL = "ch"  # ch:<channel id> | ch:me (back to the user's own chat)
CHANNEL_SELF = "me"
SHARED = "sh"  # sh:<share code>: follow a shared list of tags
SAVE = "sv"  # sv:<brief id>
UNSAVE = "us"  # us:<brief id>
SEARCH_MORE = "sm"  # sm:<search token>:<page>; the words stay server-side with the chat
LANGUAGE = "lg"  # lg:<language code>
# The frequency buttons' labels; their callback data keeps the stored value.
FREQUENCY_LABELS: dict[str, str] = {
    Frequency.DAILY: N_("daily"),
    Frequency.WEEKDAYS: N_("weekdays"),
    Frequency.WEEKLY: N_("weekly"),
    Frequency.OFF: N_("off"),
}
# Ids, pages and steps in callback data fit a 32-bit column; anything bigger is forged.
MAX_INT_PART = MAX_INT32


# Every callback prefix above (anything else is stale or forged); handlers/buttons.py
# routes each to its handler.
PREFIXES = frozenset({
    TAG_TOGGLE, TAG_PAGE, TAGS_DONE, SETTING, FORGET, BROADCAST, FILTER_REMOVE, MUTE, FEEDBACK,
    CHANNEL, SHARED, SAVE, UNSAVE, SEARCH_MORE, LANGUAGE,
})  # fmt: skip


def parse(data: str | None) -> list[str] | None:
    """The callback's parts, or None when it is not something this bot made."""
    if not data or len(data.encode()) > 64:
        return None
    parts = data.split(":")
    if parts[0] not in PREFIXES:
        return None
    return parts


def int_part(parts: list[str], index: int) -> int | None:
    try:
        value = int(parts[index])
    except (IndexError, ValueError):
        return None
    return value if -MAX_INT_PART <= value <= MAX_INT_PART else None


def language_picker(current: str) -> InlineKeyboardMarkup:
    """One button per language, each named in its own language; the current one ticked."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{'✓ ' if code == current else ''}{name}",
                    callback_data=f"{LANGUAGE}:{code}",
                )
                for code, name in i18n.NAMES.items()
            ]
        ]
    )


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
            back = InlineKeyboardButton(_("‹ Prev"), callback_data=f"{TAG_PAGE}:{page.page - 1}")
            nav.append(back)
        here = InlineKeyboardButton(
            f"{page.page + 1}/{page.pages}", callback_data=f"{TAG_PAGE}:{page.page}"
        )
        nav.append(here)
        if page.page < page.pages - 1:
            ahead = InlineKeyboardButton(_("Next ›"), callback_data=f"{TAG_PAGE}:{page.page + 1}")
            nav.append(ahead)
        rows.append(nav)
    rows.append([InlineKeyboardButton(_("Done"), callback_data=TAGS_DONE)])
    return InlineKeyboardMarkup(rows)


def search_more(token: str, page: int) -> InlineKeyboardMarkup:
    """ "More" under a page of search results."""
    button = InlineKeyboardButton(_("More"), callback_data=f"{SEARCH_MORE}:{token}:{page}")
    return InlineKeyboardMarkup([[button]])


def settings_keyboard(chat: Chat) -> InlineKeyboardMarkup:
    def mark(freq: str) -> str:
        label = _(FREQUENCY_LABELS.get(freq, freq))
        return f"✓ {label}" if chat.frequency == freq else label

    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("Time −1h"), callback_data=f"{SETTING}:time:-60"),
                InlineKeyboardButton(_("Time +1h"), callback_data=f"{SETTING}:time:60"),
            ],
            [
                InlineKeyboardButton(mark(f.value), callback_data=f"{SETTING}:freq:{f.value}")
                for f in Frequency
            ],
            [
                InlineKeyboardButton(_("Min score −1"), callback_data=f"{SETTING}:min:-1"),
                InlineKeyboardButton(_("Min score +1"), callback_data=f"{SETTING}:min:1"),
            ],
            [
                InlineKeyboardButton(_("Size −1"), callback_data=f"{SETTING}:size:-1"),
                InlineKeyboardButton(_("Size +1"), callback_data=f"{SETTING}:size:1"),
            ],
        ]
    )


def forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("Yes, delete everything"), callback_data=f"{FORGET}:yes"),
                InlineKeyboardButton(_("Cancel"), callback_data=f"{FORGET}:no"),
            ]
        ]
    )


def broadcast_confirm(broadcast_id: int, chats: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    count("Send to {n} chat", "Send to {n} chats", chats),
                    callback_data=f"{BROADCAST}:{BROADCAST_SEND}:{broadcast_id}",
                ),
                InlineKeyboardButton(
                    _("Cancel"), callback_data=f"{BROADCAST}:{BROADCAST_DROP}:{broadcast_id}"
                ),
            ]
        ]
    )


def broadcast_running(broadcast_ids: list[int]) -> InlineKeyboardMarkup:
    """A Stop button for each broadcast under way."""
    one = len(broadcast_ids) == 1
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Stop sending") if one else _("Stop #{id}").format(id=broadcast_id),
                    callback_data=f"{BROADCAST}:{BROADCAST_STOP}:{broadcast_id}",
                )
            ]
            for broadcast_id in broadcast_ids
        ]
    )


def filters_keyboard(entries: list[tuple[int, str]]) -> InlineKeyboardMarkup | None:
    """/filters: one "Remove" button per filter."""
    if not entries:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"✕ {label}", callback_data=f"{FILTER_REMOVE}:{fid}")]
         for fid, label in entries]
    )  # fmt: skip


def brief_keyboard(
    brief_id: int, *, tag: str | None, source: str | None, feedback: bool
) -> InlineKeyboardMarkup:
    """Under /brief: 👍 / 👎 (private chats), "mute tag X" / "mute this source", and Save."""
    rows: list[list[InlineKeyboardButton]] = []
    if feedback:
        rows.append(
            [
                InlineKeyboardButton("👍", callback_data=f"{FEEDBACK}:{FEEDBACK_UP}:{brief_id}"),
                InlineKeyboardButton("👎", callback_data=f"{FEEDBACK}:{FEEDBACK_DOWN}:{brief_id}"),
            ]
        )
    mutes = []
    if tag:
        mutes.append(
            InlineKeyboardButton(
                _("Mute #{tag}").format(tag=tag[:24]), callback_data=f"{MUTE}:{MUTE_TAG}:{brief_id}"
            )
        )
    if source:
        mutes.append(
            InlineKeyboardButton(
                _("Mute this source"), callback_data=f"{MUTE}:{MUTE_SOURCE}:{brief_id}"
            )
        )
    if mutes:
        rows.append(mutes)
    rows.append([InlineKeyboardButton(_("☆ Save"), callback_data=f"{SAVE}:{brief_id}")])
    return InlineKeyboardMarkup(rows)


def undo_keyboard(filter_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("Undo"), callback_data=f"{MUTE}:{MUTE_UNDO}:{filter_id}")]]
    )


digest_feedback = feedback.digest_feedback  # the one row under a digest


def tune_keyboard(brief_ids: list[int]) -> InlineKeyboardMarkup:
    """ "Tune": mark each item of the digest liked or not, and mute its tag."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(f"👍 {b}", callback_data=f"{FEEDBACK}:{FEEDBACK_UP}:{b}"),
                InlineKeyboardButton(f"👎 {b}", callback_data=f"{FEEDBACK}:{FEEDBACK_DOWN}:{b}"),
                InlineKeyboardButton(
                    _("Mute tag of {number}").format(number=b),
                    callback_data=f"{MUTE}:{MUTE_TAG}:{b}",
                ),
            ]
            for b in brief_ids
        ]
    )


def channel_picker(
    channels: list[tuple[int, str]], *, managing: int | None
) -> InlineKeyboardMarkup:
    """One button per channel (id, title), then "back to me"."""
    rows = [
        [
            InlineKeyboardButton(
                f"{'✓ ' if channel_id == managing else ''}{title}"[:64],
                callback_data=f"{CHANNEL}:{channel_id}",
            )
        ]
        for channel_id, title in channels
    ]
    # the label is its own call, not inside the f-string: the extractor sees no f-string
    back = _("Back to me")
    me = f"✓ {back}" if managing is None else back
    rows.append([InlineKeyboardButton(me, callback_data=f"{CHANNEL}:{CHANNEL_SELF}")])
    return InlineKeyboardMarkup(rows)


def follow_shared(code: str, tags: int) -> InlineKeyboardMarkup:
    label = count("Follow this tag", "Follow these {n} tags", tags)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"{SHARED}:{code}")]])


def saved_list(brief_ids: list[int]) -> InlineKeyboardMarkup:
    """A Remove button per saved brief, three to a row."""
    buttons = [
        InlineKeyboardButton(f"✕ {brief_id}", callback_data=f"{UNSAVE}:{brief_id}")
        for brief_id in brief_ids
    ]
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])
