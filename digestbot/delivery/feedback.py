"""The feedback row under a digest, shared by /digest (bot/keyboards.py re-exports it)
and the pushed digests the sender sends (delivery may not import bot/).

Its callback data is read by the bot's feedback handler (``fb:all:up|down``: the briefs
the message links; ``fb:tune``: a button per brief), so a pushed digest's row works
exactly as the one under /digest. The labels are in the current language.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from digestbot.i18n import _

FEEDBACK = "fb"  # fb:up|down:<brief id> (one brief) | fb:all:up|down | fb:tune (a digest)
FEEDBACK_UP, FEEDBACK_DOWN, FEEDBACK_ALL, FEEDBACK_TUNE = "up", "down", "all", "tune"


def digest_feedback() -> InlineKeyboardMarkup:
    """The one row under a digest: useful / not useful / tune."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("👍 Useful"), callback_data=f"{FEEDBACK}:{FEEDBACK_ALL}:{FEEDBACK_UP}"
                ),
                InlineKeyboardButton(
                    _("👎 Not useful"), callback_data=f"{FEEDBACK}:{FEEDBACK_ALL}:{FEEDBACK_DOWN}"
                ),
                InlineKeyboardButton(_("Tune"), callback_data=f"{FEEDBACK}:{FEEDBACK_TUNE}"),
            ]
        ]
    )
