"""Chats and their choices: registration, tag subscriptions and digest settings."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cachetools import TTLCache
from sqlalchemy.orm.attributes import set_committed_value

from digestbot import i18n, store, zones
from digestbot.briefs.parse import slugify
from digestbot.briefs.render import clip
from digestbot.config import parse_hhmm, parse_hhmm_range
from digestbot.errors import InputError
from digestbot.i18n import _
from digestbot.store.db import SessionFactory, read_scope, session_scope
from digestbot.store.models import Chat, ChatType, Frequency, Tag, utcnow

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_DIGEST_SIZE = 30
MAX_TIMES = 3  # digests a day
MAX_ALERTS_A_DAY = 20  # what /alerts N max K accepts
TAGS_PER_PAGE = 8
# Each chat's language is read once a minute, not on every update (every reply needs
# it). A /language on another replica reaches this one within the minute.
LANGUAGE_TTL = 60.0
LANGUAGES_CACHED = 100_000


@dataclass(frozen=True, slots=True)
class ChatDefaults:
    timezone: str = "UTC"
    digest_time: str = "08:00"


@dataclass(frozen=True, slots=True)
class Speaking:
    """The language to answer an update in, and the chat as read for it (None: the
    language came from the cache, or the chat is not registered yet): its row, its
    tags, whether it shapes its digests and the newest brief's id, in the one statement
    the language took, for the update's handler and use case to use instead of reading
    them again (``ensure(known=...)``, ``DigestService.digest_now(known=...)``)."""

    language: str
    found: store.Reader | None = None

    @property
    def chat(self) -> Chat | None:
        return self.found.chat if self.found is not None else None


@dataclass
class SubscribeResult:
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    # unknown tag as typed -> the closest known tags
    unknown: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class UnsubscribeResult:
    removed: list[str] = field(default_factory=list)
    not_subscribed: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TagEntry:
    id: int
    slug: str
    briefs: int
    subscribed: bool


@dataclass(frozen=True, slots=True)
class TagPage:
    entries: list[TagEntry]
    page: int
    pages: int


def _whole(typed: str, low: int, high: int) -> bool:
    """Whether ``typed`` is a whole number from ``low`` to ``high``."""
    return typed.isdecimal() and len(typed) <= 3 and low <= int(typed) <= high


def _quoted(typed: str) -> str:
    """What the user typed, quoted in an error message; cut short so the reply fits."""
    return repr(clip(typed, 40))


def _unknown_zone(typed: str, hints: Sequence[str]) -> str:
    """No such timezone: one whole sentence per number of suggestions (at most three)."""
    if len(hints) >= 3:
        return _("I don't know the timezone {typed}. Did you mean {a} or {b} or {c}?").format(
            typed=typed, a=hints[0], b=hints[1], c=hints[2]
        )
    if len(hints) == 2:
        return _("I don't know the timezone {typed}. Did you mean {a} or {b}?").format(
            typed=typed, a=hints[0], b=hints[1]
        )
    if hints:
        return _("I don't know the timezone {typed}. Did you mean {a}?").format(
            typed=typed, a=hints[0]
        )
    return _("I don't know the timezone {typed}.").format(typed=typed)


def suggest_tags(typed: str, known: Sequence[str], limit: int = 3) -> list[str]:
    """Known tags close to what was typed: by spelling, then by shared words."""
    slug = slugify(typed)
    close = difflib.get_close_matches(slug, known, n=limit, cutoff=0.6)
    words = set(slug.split("-"))
    related = [t for t in known if words & set(t.split("-")) and t not in close]
    return (close + related)[:limit]


class ChatService:
    """Use cases about one chat; every method opens and commits its own transaction."""

    def __init__(
        self,
        sessions: SessionFactory,
        defaults: ChatDefaults,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._defaults = defaults
        self._clock = clock
        self._languages: TTLCache[int, str] = TTLCache(LANGUAGES_CACHED, LANGUAGE_TTL)
        # The Telegram language of a chat's first contact, seen before the chat is
        # registered (a group's adder, a command before /start): register() keeps it.
        self._first_contact: TTLCache[int, str] = TTLCache(LANGUAGES_CACHED, LANGUAGE_TTL)

    async def register(
        self,
        *,
        chat_id: int,
        type: str = ChatType.PRIVATE,
        title: str | None = None,
        language: str | None = None,
    ) -> tuple[Chat, bool]:
        """Create the chat (or wake it up: active, not paused); returns (chat, is_new).

        A new chat's language is ``language``, else its first contact's (see language()).
        """
        language = language or self._first_contact.pop(chat_id, None)
        async with session_scope(self._sessions) as session:
            chat, created = await store.get_or_create_chat(
                session=session,
                chat_id=chat_id,
                defaults={
                    "type": type,
                    "title": title,
                    "language": language,
                    "timezone": self._defaults.timezone,
                    "digest_time": self._defaults.digest_time,
                    "created_at": self._clock(),
                },
            )
            if chat.paused or not chat.active:
                chat.next_digest_at = None  # resumed: the planner schedules it afresh
            chat.active, chat.paused, chat.type = True, False, type
            if title:
                chat.title = title
            return chat, created

    async def get(self, chat_id: int) -> Chat | None:
        async with read_scope(self._sessions) as session:
            return await session.get(Chat, chat_id)

    async def ensure(
        self, chat_id: int, *, type: str = ChatType.PRIVATE, known: Chat | None = None
    ) -> Chat:
        """The chat, registering it quietly if a command arrives before /start.

        ``known``: the chat's row as read earlier for this update (``speaking``), used
        instead of reading it again when it is this chat's."""
        chat = known if known is not None and known.id == chat_id else await self.get(chat_id)
        if chat is None:
            chat, _created = await self.register(chat_id=chat_id, type=type)
        return chat

    # --- language ---

    async def language(self, chat_id: int, telegram_code: str | None) -> str:
        """The language to speak in ``chat_id``: the one it chose (/language), else the
        one its user's Telegram was set to when the chat was first seen, else the default.

        A chat known but with no language yet (registered by a command before /start,
        or before languages existed) keeps ``telegram_code`` as its first contact's.
        """
        return (await self.speaking(chat_id, telegram_code)).language

    async def speaking(self, chat_id: int, telegram_code: str | None) -> Speaking:
        """``language()``, with the chat's row when it had to be read for it: the one read
        of the chat an update needs before its use case (the handler's ``ensure``)."""
        cached = self._languages.get(chat_id)
        if cached is not None:
            return Speaking(cached)
        # what the handler and a reading use case need of the chat, in the one statement
        # the language took: they then read none of it again (bench/RESULTS.md, issue 19)
        async with read_scope(self._sessions) as session:
            found = await store.reader(session=session, chat_id=chat_id)
        chat = found.chat if found is not None else None
        stored = chat.language if chat is not None else None
        if chat is not None and stored is None and telegram_code:
            stored = telegram_code[:16]
            async with session_scope(self._sessions) as session:
                await store.set_chat_language(session=session, chat_id=chat_id, language=stored)
            set_committed_value(chat, "language", stored)  # written: not a change to flush
        if chat is None and telegram_code:
            self._first_contact[chat_id] = telegram_code[:16]
        # cached even for a chat not registered yet: a flood of its updates then costs no
        # reads, and registering it keeps the same first-contact language
        resolved = i18n.resolve(stored if chat is not None else telegram_code)
        self._languages[chat_id] = resolved
        return Speaking(resolved, found)

    async def set_language(self, chat_id: int, language: str) -> None:
        """Speak ``language`` (one with a catalog) in ``chat_id`` from now on."""
        if language not in i18n.NAMES:
            raise InputError(f"no language {_quoted(language)}")
        async with session_scope(self._sessions) as session:
            await store.set_chat_language(session=session, chat_id=chat_id, language=language)
        self._languages[chat_id] = language

    # --- tags ---

    async def subscribe(self, chat_id: int, typed: Sequence[str]) -> SubscribeResult:
        """Follow known tags; unknown ones come back with suggestions, unchanged."""
        result = SubscribeResult()
        async with session_scope(self._sessions) as session:
            # only the typed tags are looked up: counting every brief's tags for each
            # /subscribe cost ~100 ms on a year of briefs (bench/commands.py --year)
            known_ids = await store.tags_with_briefs(
                session=session, slugs=[slugify(raw) for raw in typed]
            )
            known: list[str] | None = None  # every known tag, most used first: suggestions
            for raw in typed:
                slug = slugify(raw)
                if slug not in known_ids:
                    if known is None:
                        known = [t.slug for t in await store.tag_counts(session=session)]
                    result.unknown[raw] = suggest_tags(raw, known)
                elif await store.add_subscription(
                    session=session, chat_id=chat_id, tag=slug, tag_id=known_ids[slug]
                ):
                    result.added.append(slug)
                else:
                    result.already.append(slug)
        return result

    async def unknown_tag(self, typed: str) -> list[str] | None:
        """None when ``typed`` names a known tag; otherwise the tags close to it, the
        suggestions /subscribe gives (so /summary and /watch offer the same)."""
        async with read_scope(self._sessions) as session:
            known = [t.slug for t in await store.tag_counts(session=session)]
        return None if slugify(typed) in known else suggest_tags(typed, known)

    async def unsubscribe(self, chat_id: int, typed: Sequence[str]) -> UnsubscribeResult:
        result = UnsubscribeResult()
        async with session_scope(self._sessions) as session:
            for raw in typed:
                slug = slugify(raw)
                if slug and await store.remove_subscription(
                    session=session, chat_id=chat_id, tag=slug
                ):
                    result.removed.append(slug)
                else:
                    result.not_subscribed.append(slug or raw)
        return result

    async def unsubscribe_all(self, chat_id: int) -> int:
        async with session_scope(self._sessions) as session:
            return await store.remove_all_subscriptions(session=session, chat_id=chat_id)

    async def tags(self, chat_id: int) -> list[str]:
        async with read_scope(self._sessions) as session:
            return await store.chat_tags(session=session, chat_id=chat_id)

    async def tag_page(self, chat_id: int, page: int, per_page: int = TAGS_PER_PAGE) -> TagPage:
        """One page of the tag picker: known tags, most used first, with ✓ state."""
        async with read_scope(self._sessions) as session:
            counts = await store.tag_counts(session=session)
            mine = set(await store.chat_tags(session=session, chat_id=chat_id))
            ids = await store.tag_ids(session=session, slugs=[c.slug for c in counts])
        pages = max(1, math.ceil(len(counts) / per_page))
        page = min(max(page, 0), pages - 1)
        chunk = counts[page * per_page : (page + 1) * per_page]
        entries = [TagEntry(ids[c.slug] or 0, c.slug, c.briefs, c.slug in mine) for c in chunk]
        return TagPage(entries, page, pages)

    async def toggle(self, chat_id: int, tag_id: int) -> tuple[str, bool] | None:
        """Flip one subscription from the picker; (slug, now subscribed), None if no such tag."""
        async with session_scope(self._sessions) as session:
            tag = await session.get(Tag, tag_id)
            if tag is None:
                return None
            if await store.remove_subscription(session=session, chat_id=chat_id, tag=tag.slug):
                return tag.slug, False
            await store.add_subscription(session=session, chat_id=chat_id, tag=tag.slug)
            return tag.slug, True

    # --- settings ---

    async def _update(self, chat_id: int, **values: object) -> Chat:
        async with session_scope(self._sessions) as session:
            chat, _created = await store.get_or_create_chat(
                session=session,
                chat_id=chat_id,
                defaults={
                    "timezone": self._defaults.timezone,
                    "digest_time": self._defaults.digest_time,
                },
            )
            for key, value in values.items():
                setattr(chat, key, value)
            return chat

    async def set_time(self, chat_id: int, typed: str | Sequence[str]) -> Chat:
        """One digest time or up to three ("08:00 18:00", commas work too)."""
        text = typed if isinstance(typed, str) else " ".join(typed)
        moments = set()
        for word in text.replace(",", " ").split() or [text]:
            try:
                moments.add(parse_hhmm(word))
            except ValueError as exc:
                reason = _("{typed} is not a time; use 24-hour HH:MM, like 07:30").format(
                    typed=_quoted(word)
                )
                raise InputError(reason) from exc
        if len(moments) > MAX_TIMES:
            raise InputError(
                _("up to {n} digest times a day, like /time 08:00 18:00").format(n=MAX_TIMES)
            )
        times = [f"{m:%H:%M}" for m in sorted(moments)]
        return await self._update(
            chat_id,
            digest_time=times[0],
            digest_times=",".join(times) if len(times) > 1 else "",
            next_digest_at=None,
        )

    async def set_alerts(self, chat_id: int, typed: Sequence[str]) -> Chat:
        """``off``, ``N`` or ``N max K``: alerts for briefs scoring N or more, K a day."""
        words = [w.lower() for w in typed]
        if words == ["off"]:
            return await self._update(chat_id, alert_score=None)
        if len(words) not in {1, 3} or (len(words) == 3 and words[1] != "max"):
            raise InputError(
                _("use /alerts N (a score from 0 to 10), /alerts N max K, or /alerts off")
            )
        if not _whole(words[0], 0, 10):
            raise InputError(
                _(
                    "{typed} is not a score from 0 to 10; use /alerts N (a score from 0 to "
                    "10), /alerts N max K, or /alerts off"
                ).format(typed=_quoted(typed[0]))
            )
        values: dict[str, object] = {"alert_score": int(words[0])}
        if len(words) == 3:
            if not _whole(words[2], 1, MAX_ALERTS_A_DAY):
                raise InputError(
                    _(
                        "{typed} is not a number of alerts a day from 1 to {limit}, like "
                        "/alerts 8 max 3"
                    ).format(typed=_quoted(typed[2]), limit=MAX_ALERTS_A_DAY)
                )
            values["alert_max"] = int(words[2])
        return await self._update(chat_id, **values)

    async def set_compact(self, chat_id: int, compact: bool) -> Chat:
        """/style compact (no gist line under each digest item) or full."""
        return await self._update(chat_id, compact=compact)

    async def set_quiet(self, chat_id: int, typed: str) -> Chat:
        """``HH:MM-HH:MM`` (local; across midnight when the end comes first) or ``off``."""
        value = typed.strip().lower()
        if value in {"off", "none"}:
            return await self._update(chat_id, quiet_hours="")
        try:
            start, end = parse_hhmm_range(value.replace(" ", ""))
        except ValueError as exc:
            reason = _("{typed} is not a time range; use HH:MM-HH:MM, like 22:00-07:00")
            reason = reason.format(typed=_quoted(typed))
            if "different" in str(exc):  # config's own (English) reason names the case
                reason = _("quiet hours must start and end at different times")
            raise InputError(reason) from exc
        return await self._update(chat_id, quiet_hours=f"{start:%H:%M}-{end:%H:%M}")

    async def set_timezone(self, chat_id: int, typed: str) -> Chat:
        zone = zones.resolve(typed)
        if zone is None:
            raise InputError(_unknown_zone(_quoted(typed), zones.suggest(typed)))
        return await self._update(chat_id, timezone=zone, next_digest_at=None)

    async def set_frequency(self, chat_id: int, typed: str, day: str | None = None) -> Chat:
        value = typed.strip().lower()
        if value not in {f.value for f in Frequency}:
            raise InputError(_("frequency is one of: daily, weekdays, weekly, off"))
        # None: the planner recomputes the schedule at its next tick
        values: dict[str, object] = {"frequency": value, "next_digest_at": None}
        if value == Frequency.WEEKLY and day is not None:
            # a day's name or its start ("tue", "thurs"), or a plural ("fridays", "weds")
            typed_day = day.strip().lower().removesuffix("s")
            matches = [i for i, d in enumerate(WEEKDAYS) if d.startswith(typed_day)]
            if len(typed_day) < 3 or not matches:
                raise InputError(
                    _("{typed} is not a day of the week, like monday").format(typed=_quoted(day))
                )
            values["weekly_day"] = matches[0]
        return await self._update(chat_id, **values)

    async def set_min_score(self, chat_id: int, typed: str) -> Chat:
        if not typed.strip().isdecimal() or not 0 <= int(typed) <= 10:
            raise InputError(_("the minimum score is a whole number from 0 to 10"))
        return await self._update(chat_id, min_score=int(typed))

    async def set_size(self, chat_id: int, typed: str) -> Chat:
        if not typed.strip().isdecimal() or not 1 <= int(typed) <= MAX_DIGEST_SIZE:
            raise InputError(
                _("the digest size is a whole number from 1 to {limit}").format(
                    limit=MAX_DIGEST_SIZE
                )
            )
        return await self._update(chat_id, digest_size=int(typed))

    async def pause(self, chat_id: int) -> Chat:
        # cleared: the planner parks it (see planner.schedule_of), and schedules it
        # afresh when /start resumes it
        return await self._update(chat_id, paused=True, next_digest_at=None)

    async def set_active(self, chat_id: int, active: bool) -> None:
        async with session_scope(self._sessions) as session:
            chat = await session.get(Chat, chat_id)
            if chat is not None and chat.active != active:
                chat.active, chat.next_digest_at = active, None

    async def forget(self, chat_id: int) -> bool:
        """Delete everything the bot keeps about a chat; False when it knew nothing."""
        self._languages.pop(chat_id, None)
        async with session_scope(self._sessions) as session:
            # saved briefs, shares and channel choices first: they name the chat too
            await store.delete_user_rows(session=session, chat_id=chat_id)
            deleted = await store.delete_chat(session=session, chat_id=chat_id)
        # again once deleted: a lookup while the delete ran may have cached the old one
        self._languages.pop(chat_id, None)
        return deleted
