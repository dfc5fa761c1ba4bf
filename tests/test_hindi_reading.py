"""The reader's commands in Hindi (issue #18, part A), through the real bot and the fake
Bot API: a user whose Telegram is set to Hindi gets replies, buttons and button answers in
Hindi, as valid Telegram HTML within Telegram's limits; an English user's stay English."""

from __future__ import annotations

import re

import sqlalchemy as sa

from digestbot import i18n
from digestbot.bot import keyboards
from digestbot.bot.handlers.inline import INLINE_BURST
from digestbot.fakeapi import ChatHandle, RecordedRequest, StoredMessage
from digestbot.readers.shaping import MAX_FILTERS
from digestbot.store.models import Chat
from tests.bot import Bot
from tests.factories import make_brief

HINDI_USER = 42
ENGLISH_USER = 43
FRIEND = 44
GROUP_ID = -1009876543210
GROUP_ADMIN = 7101
MEMBER = 7102
CHANNEL = -1005550077
STALE = "यह बटन अब काम नहीं करता। नया बटन पाने के लिए कमांड फिर से भेजें।"
DEVANAGARI = re.compile(r"[\u0900-\u097F]")


def hindi(text: str) -> str:
    """``text``, checked to be Hindi and to fit one Telegram message."""
    assert DEVANAGARI.search(text), text
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    return text


def hindi_chat(bot: Bot, user_id: int = HINDI_USER) -> ChatHandle:
    return bot.server.private_chat(user_id, language_code="hi")


async def ask(bot: Bot, chat: ChatHandle, text: str, from_user: int | None = None) -> list[str]:
    """The bot's texts in reply (checked as valid HTML by ``bot.say``); a second passes
    first, so a long test stays under the flood limit as a person would."""
    bot.clock.advance(seconds=1)
    return await bot.texts(chat, text, from_user)


async def press(
    bot: Bot, chat: ChatHandle, message: StoredMessage, label: str, from_user: int | None = None
) -> list[RecordedRequest]:
    bot.clock.advance(seconds=1)
    data = message.button(label).callback_data
    assert data is not None
    return await bot.press(chat, message.message_id, data, from_user)


def answers(requests: list[RecordedRequest]) -> list[str]:
    """The texts of the button answers (at most 200 characters each, as Telegram allows)."""
    texts = [str(r.params.get("text", "")) for r in requests if r.method == "answerCallbackQuery"]
    assert all(len(t) <= 200 for t in texts), texts
    return texts


def labels(message: StoredMessage) -> list[str]:
    return [b.text for row in message.buttons for b in row]


def last(bot: Bot, chat: ChatHandle) -> StoredMessage:
    return bot.server.messages(chat)[-1]


# ---- following tags ---------------------------------------------------------------------------


async def test_a_hindi_user_starts_and_follows_tags_in_hindi(bot):
    await bot.add_briefs(
        [make_brief(tags=("llm",)), make_brief(tags=("chips",)), make_brief(tags=("robotics",))]
    )
    me = hindi_chat(bot)

    (welcome,) = await ask(bot, me, "/start")
    assert hindi(welcome).startswith("स्वागत है! आप जो टैग फ़ॉलो करते हैं")
    picker = last(bot, me)
    assert labels(picker)[-1] == "हो गया" and "llm (1)" in labels(picker)  # slugs stay as they are
    assert answers(await press(bot, me, picker, "llm (1)")) == ["llm फ़ॉलो कर रहे हैं"]
    await press(bot, me, last(bot, me), "हो गया")
    assert last(bot, me).source == "आप ये टैग फ़ॉलो करते हैं: <b>llm</b>\nक्या नया है, /digest में देखें।"

    (picking,) = await ask(bot, me, "/tags")
    assert picking == "किसी टैग को फ़ॉलो या अनफ़ॉलो करने के लिए उस पर टैप करें:"
    assert "✓ llm (1)" in labels(last(bot, me))
    assert answers(await press(bot, me, last(bot, me), "✓ llm (1)")) == ["llm अनफ़ॉलो किया"]

    assert await ask(bot, me, "/subscribe chips") == ["अब आप <b>chips</b> फ़ॉलो कर रहे हैं।"]
    assert await ask(bot, me, "/subscribe #Chips") == ["chips आप पहले से फ़ॉलो कर रहे हैं।"]
    assert await ask(bot, me, "/subscribe chps") == [
        "chps नाम का कोई टैग नहीं है। क्या आपका मतलब chips था?"
    ]
    assert await ask(bot, me, "/subscribe zzqx") == ["zzqx नाम का कोई टैग नहीं है। /tags देखें।"]
    (usage,) = await ask(bot, me, "/subscribe")
    assert hindi(usage).startswith("कौन-से टैग? उदाहरण: /subscribe generative-ai chips")
    assert await ask(bot, me, "/mytags") == ["आप ये टैग फ़ॉलो करते हैं: <b>chips</b>"]

    assert await ask(bot, me, "/unsubscribe chips") == ["अब आप <b>chips</b> फ़ॉलो नहीं कर रहे।"]
    assert await ask(bot, me, "/unsubscribe chips") == ["आप chips फ़ॉलो नहीं कर रहे थे।"]
    (mine,) = await ask(bot, me, "/mytags")
    assert mine == "आप अभी कोई टैग फ़ॉलो नहीं करते। /tags से कुछ चुनें।"

    # a count of one, then of two
    await ask(bot, me, "/subscribe llm")
    assert await ask(bot, me, "/unsubscribe all") == ["आपका 1 टैग अनफ़ॉलो कर दिया।"]
    await ask(bot, me, "/subscribe llm chips")
    assert await ask(bot, me, "/unsubscribe all") == ["आपके सभी 2 टैग अनफ़ॉलो कर दिए।"]
    assert await ask(bot, me, "/unsubscribe all") == ["आप कोई टैग फ़ॉलो नहीं करते।"]
    (chat,) = await ask(bot, me, "hello")
    assert chat == "मैं कमांड का जवाब देता हूँ: /digest आज़माएँ, या पूरी सूची के लिए /help भेजें।"

    forged = await bot.press(me, last(bot, me).message_id, "tg:notanumber:0")
    assert answers(forged) == [STALE]


async def test_an_english_user_beside_a_hindi_one_stays_in_english(bot):
    await bot.add_briefs([make_brief(tags=("chips",))])
    hindi_user, english_user = hindi_chat(bot), bot.server.private_chat(ENGLISH_USER)
    await ask(bot, hindi_user, "/start")

    (welcome,) = await ask(bot, english_user, "/start")
    assert welcome.startswith("Welcome! I send short digests")
    assert labels(last(bot, english_user))[-1] == "Done"
    assert await ask(bot, english_user, "/subscribe chips") == ["Following <b>chips</b> now."]
    assert await ask(bot, english_user, "/subscribe chps") == ["No tag chps. Did you mean chips?"]
    assert await ask(bot, english_user, "/unsubscribe all") == ["Stopped following all 1 tag."]
    assert await ask(bot, english_user, "/filters") == [
        "No filters. /mute WORD hides briefs that mention it; /only WORD keeps only those that do."
    ]
    # and the Hindi user, in between, still gets Hindi
    assert await ask(bot, hindi_user, "/subscribe chips") == ["अब आप <b>chips</b> फ़ॉलो कर रहे हैं।"]


# ---- reading ------------------------------------------------------------------------------------


async def test_a_hindi_user_reads_briefs_and_uses_their_buttons_in_hindi(bot):
    (model, _chip) = await bot.add_briefs(
        [
            make_brief(
                title="Open weights model", score=8, tags=("llm",), url="https://example.com/a"
            ),
            make_brief(title="Chip fab opens", tags=("chips",)),
        ]
    )
    me = hindi_chat(bot)
    await ask(bot, me, "/subscribe llm")

    (digest,) = await ask(bot, me, "/digest")
    assert "Open weights model" in digest  # brief content is never translated
    shown = last(bot, me)
    assert labels(shown) == ["👍 काम का", "👎 काम का नहीं", "ट्यून करें"]
    assert answers(await press(bot, me, shown, "ट्यून करें")) == ["बताएँ क्या पसंद आया और क्या नहीं"]
    assert f"{model} का टैग म्यूट करें" in labels(last(bot, me))
    # nothing new: the latest again, under the digest's own wording (part C's to translate)
    (nothing_new,) = await ask(bot, me, "/digest")
    assert "Open weights model" in nothing_new
    assert labels(last(bot, me)) == ["👍 काम का", "👎 काम का नहीं", "ट्यून करें"]

    (summary,) = await ask(bot, me, "/summary")
    assert "Open weights model" in summary  # the chat's tags only: brief content as it is
    assert await ask(bot, me, "/summary nosuchtag") == ["nosuchtag नाम का कोई टैग नहीं है। /tags देखें।"]
    assert await ask(bot, me, "/watch chps") == [
        "chps नाम का कोई टैग नहीं है। क्या आपका मतलब chips था?"
    ]
    assert await ask(bot, me, "/watch llm")  # answered; what to watch is brief content

    assert await ask(bot, me, "/brief") == ["कौन-सा ब्रीफ़? /brief के साथ उसका नंबर भेजें, जैसे /brief 12"]
    assert await ask(bot, me, "/brief 999999") == ["ब्रीफ़ 999999 नहीं मिला। हाल के ब्रीफ़ /summary में हैं।"]
    await ask(bot, me, f"/brief {model}")
    brief = last(bot, me)
    assert [[b.text for b in row] for row in brief.buttons] == [
        ["👍", "👎"],
        ["#llm म्यूट करें", "यह सोर्स म्यूट करें"],
        ["☆ सेव करें"],
    ]
    assert answers(await press(bot, me, brief, "👍")) == ["#llm जैसे ब्रीफ़ ज़्यादा दिखेंगे"]
    (again,) = await ask(bot, me, f"/brief_{model}")
    assert "<i>यह आपको क्यों मिला: आप #llm फ़ॉलो करते हैं, स्कोर 8, आपको #llm पसंद आया</i>" in again

    assert answers(await press(bot, me, brief, "☆ सेव करें")) == ["सेव हो गया: /saved में सब दिखते हैं।"]
    assert answers(await press(bot, me, brief, "☆ सेव करें")) == ["पहले से सेव है: /saved में सब दिखते हैं।"]

    assert answers(await press(bot, me, brief, "#llm म्यूट करें")) == ["हो गया: #llm म्यूट"]
    done = last(bot, me)
    assert done.source == "हो गया: #llm म्यूट। आपके सारे फ़िल्टर /filters में हैं।"
    assert labels(done) == ["वापस लें"]
    assert answers(await press(bot, me, done, "वापस लें")) == ["वापस ले लिया"]
    assert last(bot, me).source == "वापस ले लिया: #llm म्यूट अब बंद है।"
    assert answers(await press(bot, me, brief, "यह सोर्स म्यूट करें")) == ["हो गया: example.com म्यूट"]
    assert answers(await bot.press(me, brief.message_id, "sv:x")) == [STALE]


async def test_a_hindi_user_searches_in_hindi(bot):
    await bot.add_briefs([make_brief(title=f"Open weights model {n}") for n in range(30)])
    me = hindi_chat(bot)

    assert await ask(bot, me, "/search") == ["क्या खोजना है? उदाहरण: /search open weights"]
    found = await ask(bot, me, "/search open weights")
    assert found and "Open weights model" in found[0]
    more = last(bot, me)
    assert labels(more) == ["और दिखाएँ"]
    pressed = await press(bot, me, more, "और दिखाएँ")
    assert not answers(pressed)[0]  # answered quietly; the next page follows as messages
    assert "Open weights model" in last(bot, me).source
    assert await ask(bot, me, "/search nothing-matches-this")  # its wording is part C's
    expired = await bot.press(me, more.message_id, "sm:nosuchtoken:1")
    assert answers(expired) == ["यह खोज पुरानी हो गई है। /search फिर से भेजें।"]


async def test_saved_briefs_in_hindi_with_counts_of_one_and_more(bot):
    ids = await bot.add_briefs([make_brief() for _ in range(5)])
    me = hindi_chat(bot)
    (empty,) = await ask(bot, me, "/saved")
    assert empty == "अभी कुछ सेव नहीं है। किसी /brief के नीचे ☆ सेव करें दबाएँ, वह यहाँ आ जाएगा।"

    await bot.services.saved.save(HINDI_USER, ids[0])
    (one,) = await ask(bot, me, "/saved")
    assert one.startswith("<b>सेव किए गए ब्रीफ़ (1, ज़्यादा से ज़्यादा 100); ✕ दबाकर हटाएँ</b>")
    bot.clock.advance(seconds=1)
    await bot.services.saved.save(HINDI_USER, ids[1])
    (two,) = await ask(bot, me, "/saved")
    assert two.startswith("<b>सेव किए गए ब्रीफ़ (2, ज़्यादा से ज़्यादा 100); ✕ दबाकर हटाएँ</b>")
    listing = last(bot, me)
    assert answers(await press(bot, me, listing, f"✕ {ids[0]}")) == [f"{ids[0]} हटा दिया।"]
    assert answers(await press(bot, me, listing, f"✕ {ids[1]}")) == [f"{ids[1]} हटा दिया।"]
    assert last(bot, me).source == "अब कुछ भी सेव नहीं है।"
    gone = await bot.press(me, listing.message_id, f"us:{ids[1]}")
    assert answers(gone) == ["यह सेव नहीं था।"]

    # over the limit: the oldest one goes, then the oldest two
    bot.services.saved.limit = 2
    for brief_id in ids[:2]:
        bot.clock.advance(seconds=1)
        await bot.services.saved.save(HINDI_USER, brief_id)
    await ask(bot, me, f"/brief {ids[2]}")
    dropped_one = await press(bot, me, last(bot, me), "☆ सेव करें")
    assert answers(dropped_one) == [
        "सेव हो गया। आप ज़्यादा से ज़्यादा 2 ब्रीफ़ रख सकते हैं, इसलिए सबसे पुराना ब्रीफ़ हटा दिया गया।"
    ]
    bot.services.saved.limit = 1
    await ask(bot, me, f"/brief {ids[3]}")
    dropped_two = await press(bot, me, last(bot, me), "☆ सेव करें")
    assert answers(dropped_two) == [
        "सेव हो गया। आप ज़्यादा से ज़्यादा 1 ब्रीफ़ रख सकते हैं, इसलिए सबसे पुराने 2 ब्रीफ़ हटा दिए गए।"
    ]


# ---- shaping ------------------------------------------------------------------------------------


async def test_filters_in_hindi_up_to_the_limit(bot):
    (brief,) = await bot.add_briefs([make_brief(tags=("llm",))])
    me = hindi_chat(bot)

    (usage,) = await ask(bot, me, "/mute")
    assert usage == 'क्या म्यूट करना है? उदाहरण: /mute crypto या /mute "self-driving cars"'
    assert await ask(bot, me, "/mute crypto") == [
        "“crypto” वाले ब्रीफ़ अब छिपाए जाएँगे।\n/filters में सब दिखते हैं।"
    ]
    assert await ask(bot, me, "/mute Crypto") == ["“Crypto” पहले से लगा है।\n/filters में सब दिखते हैं।"]
    assert await ask(bot, me, "/only robotics") == [
        "अब सिर्फ़ वे ब्रीफ़ दिखेंगे जिनमें “robotics” (या कोई और /only शब्द) हो।\n/filters में सब दिखते हैं।"
    ]
    (listing,) = await ask(bot, me, "/filters")
    assert listing == (
        "<b>आपके फ़िल्टर</b> (2/30); हटाने के लिए किसी पर टैप करें।\n• “crypto” म्यूट\n• सिर्फ़ “robotics”"
    )
    removed = await press(bot, me, last(bot, me), "✕ “crypto” म्यूट")
    assert answers(removed) == ["हटा दिया: “crypto” म्यूट"]
    assert await ask(bot, me, "/unmute robotics") == ["1 फ़िल्टर हटाया। बाकी /filters में हैं।"]
    await ask(bot, me, '/mute rust "open source"')
    assert await ask(bot, me, '/unmute rust "open source"') == ["2 फ़िल्टर हटाए। बाकी /filters में हैं।"]
    assert await ask(bot, me, "/unmute zzqx") == [
        "“zzqx” पर कोई फ़िल्टर नहीं है। आपके फ़िल्टर /filters में हैं।"
    ]
    (unmute_usage,) = await ask(bot, me, "/unmute")
    assert hindi(unmute_usage).startswith("क्या अनम्यूट करना है?")
    (none,) = await ask(bot, me, "/filters")
    assert none.startswith("कोई फ़िल्टर नहीं है। /mute WORD")

    words = " ".join(f"word{n}" for n in range(MAX_FILTERS))
    (added,) = await ask(bot, me, f"/mute {words}")
    assert hindi(added).startswith("“word0”, “word1”")
    (full,) = await ask(bot, me, "/filters")
    assert hindi(full).startswith(f"<b>आपके फ़िल्टर</b> ({MAX_FILTERS}/{MAX_FILTERS})")
    assert len(labels(last(bot, me))) == MAX_FILTERS
    assert await ask(bot, me, "/mute one-more") == [
        "आपके 30 फ़िल्टर हैं, इससे ज़्यादा मैं नहीं रखता: पहले /filters से कुछ हटाएँ।\n/filters में सब दिखते हैं।"
    ]
    await ask(bot, me, f"/brief {brief}")
    at_limit = await press(bot, me, last(bot, me), "#llm म्यूट करें")
    assert answers(at_limit) == ["आपके 30 फ़िल्टर हैं: पहले /filters से कुछ हटाएँ।"]


async def test_style_in_hindi(bot):
    me = hindi_chat(bot)
    assert await ask(bot, me, "/style") == ["कौन-सी स्टाइल? /style compact या /style full"]
    assert await ask(bot, me, "/style <b>") == [
        "कौन-सी स्टाइल (&lt;b&gt; नहीं)? /style compact या /style full"
    ]
    assert await ask(bot, me, "/style compact") == ["छोटे डाइजेस्ट: सिर्फ़ शीर्षक और टैग।"]
    assert await ask(bot, me, "/style full") == [
        "पूरे डाइजेस्ट: हर आइटम के साथ एक लाइन कि वह क्यों अहम है।"
    ]


async def test_settings_input_errors_from_the_readers_service_reach_a_hindi_user_in_hindi(bot):
    me = hindi_chat(bot)
    (time,) = await ask(bot, me, "/time 25:99")
    assert "'25:99' सही समय नहीं है; 24 घंटे वाला HH:MM लिखें, जैसे 07:30" in hindi(time)
    (zone,) = await ask(bot, me, "/timezone IST")
    assert "मुझे 'IST' नाम का कोई टाइमज़ोन नहीं पता। क्या आपका मतलब Asia/Kolkata था?" in zone
    (size,) = await ask(bot, me, "/size 99")
    assert "डाइजेस्ट का साइज़ 1 से 30 तक की कोई पूरी संख्या होनी चाहिए" in size
    (alerts,) = await ask(bot, me, "/alerts 11")
    assert "'11' 0 से 10 तक का स्कोर नहीं है;" in alerts
    (quiet,) = await ask(bot, me, "/quiet 07:00-07:00")
    assert "क्वाइट आवर्स के शुरू और खत्म होने का समय अलग-अलग होना चाहिए" in quiet


# ---- sharing and channels ---------------------------------------------------------------------


async def test_share_links_in_hindi_for_one_tag_and_for_several(bot):
    await bot.add_briefs([make_brief(tags=("llm", "chips"))])
    me, friend = hindi_chat(bot), hindi_chat(bot, FRIEND)

    assert await ask(bot, me, "/share") == ["पहले कुछ टैग फ़ॉलो करें (/tags), फिर उन्हें शेयर करें।"]
    await ask(bot, me, "/subscribe llm chips")
    (link,) = await ask(bot, me, "/share")
    assert link.startswith("अपने टैग शेयर करने के लिए यह लिंक भेजें;")
    code = re.search(r"start=tags-(\S+)", link)
    assert code is not None

    (offer,) = await ask(bot, friend, f"/start tags-{code.group(1)}")
    assert offer == "किसी ने आपके साथ ये टैग शेयर किए हैं: <b>chips, llm</b>"
    followed = await press(bot, friend, last(bot, friend), "ये 2 टैग फ़ॉलो करें")
    assert answers(followed) == ["हो गया"]
    assert last(bot, friend).source == "अब आप <b>chips, llm</b> फ़ॉलो कर रहे हैं।"

    await ask(bot, me, "/unsubscribe chips")
    (one_link,) = await ask(bot, me, "/share")
    one = re.search(r"start=tags-(\S+)", one_link)
    assert one is not None
    await ask(bot, friend, f"/start tags-{one.group(1)}")
    assert labels(last(bot, friend)) == ["यह टैग फ़ॉलो करें"]
    assert await ask(bot, friend, "/start tags-nosuchcode") == [
        "यह शेयर लिंक सही नहीं है (या अब नहीं चलता)। सारे टैग /tags में हैं।"
    ]


async def test_channels_managed_in_hindi(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    me = hindi_chat(bot)
    (none,) = await ask(bot, me, "/channels")
    assert hindi(none).startswith("अभी मेरे साथ आपका कोई चैनल नहीं है।")

    channel = bot.server.group_chat(CHANNEL, "Chip News", type="channel", admins=[HINDI_USER])
    await bot.update(
        await bot.server.chat_member_update(channel, "administrator", "left", from_user=HINDI_USER)
    )
    (picking,) = await ask(bot, me, "/channels")
    assert picking == (
        "अभी आपकी अपनी चैट मैनेज हो रही है।\nचैनल चुनें: फिर /tags, /settings और /time उसी को बदलेंगे।"
    )
    assert labels(last(bot, me)) == ["Chip News", "✓ अपनी चैट पर वापस"]
    picked = await press(bot, me, last(bot, me), "Chip News")
    assert answers(picked) == ["Chip News मैनेज हो रहा है"]
    assert last(bot, me).source.startswith("अब <b>Chip News</b> मैनेज हो रहा है:")

    assert await ask(bot, me, "/subscribe llm") == [
        "📢 <b>Chip News</b> मैनेज हो रहा है (बदलने के लिए /channels)\nअब आप <b>llm</b> फ़ॉलो कर रहे हैं।"
    ]
    await ask(bot, me, "/channels")
    back = await press(bot, me, last(bot, me), "अपनी चैट पर वापस")
    assert answers(back) == ["अपनी चैट मैनेज हो रही है"]
    assert last(bot, me).source == "अब आप फिर से अपनी चैट मैनेज कर रहे हैं।"

    await ask(bot, me, "/channels")
    await press(bot, me, last(bot, me), "Chip News")
    channel.admins.remove(HINDI_USER)  # demoted in Telegram
    (demoted,) = await ask(bot, me, "/mytags")
    assert demoted == (
        "आप अब <b>Chip News</b> के ऐडमिन नहीं हैं, इसलिए मैं आपके लिए इसे नहीं बदल सकता। "
        "अब आप फिर से अपनी चैट मैनेज कर रहे हैं।"
    )


# ---- inline mode ----------------------------------------------------------------------------


async def test_inline_searches_answer_a_hindi_user_in_hindi_when_limited(bot):
    await bot.add_briefs([make_brief(title="Quantum chips ship")])
    bot.server.user(HINDI_USER, language_code="hi")
    bot.server.user(ENGLISH_USER)

    async def inline(user: int) -> dict[str, object]:
        update_id, query_id = await bot.server.inline_query(user, "quantum")
        await bot.update(update_id)
        return bot.server.inline_answers[query_id]

    for _ in range(INLINE_BURST):
        (result,) = (await inline(HINDI_USER))["results"]  # type: ignore[misc]
        assert result["title"] == "Quantum chips ship"
    limited = await inline(HINDI_USER)
    assert limited["results"] == []
    assert limited["button"]["text"] == "बहुत ज़्यादा खोजें: कुछ सेकंड रुकें"  # type: ignore[index]
    for _ in range(INLINE_BURST):
        await inline(ENGLISH_USER)
    english = await inline(ENGLISH_USER)
    assert english["button"]["text"] == "Too many searches: wait a few seconds"  # type: ignore[index]


# ---- groups ---------------------------------------------------------------------------------


async def test_a_hindi_group_greets_and_refuses_non_admins_in_hindi(bot):
    (brief,) = await bot.add_briefs([make_brief(tags=("llm",), url="https://example.com/g")])
    bot.server.user(GROUP_ADMIN, language_code="hi")
    bot.server.user(MEMBER, language_code="hi")
    group = bot.server.group_chat(GROUP_ID, "समाचार", type="supergroup", admins=[GROUP_ADMIN])
    mark = bot.server.mark()
    await bot.update(
        await bot.server.chat_member_update(group, "member", "left", from_user=GROUP_ADMIN)
    )
    (hello,) = [str(r.params["text"]) for r in bot.sent_since(mark) if r.chat_id == GROUP_ID]
    assert hindi(hello).startswith("नमस्ते! मैं यहाँ न्यूज़ ब्रीफ़ के डाइजेस्ट पोस्ट करूँगा।")

    refusal = "मैं यहाँ क्या भेजूँ, यह सिर्फ़ इस ग्रुप के ऐडमिन बदल सकते हैं।"
    for command in ("/subscribe llm", "/unsubscribe all", "/mute crypto", "/style compact"):
        assert await ask(bot, group, command, from_user=MEMBER) == [refusal], command
    assert await ask(bot, group, "/start", from_user=MEMBER) == [
        "नमस्ते! ग्रुप ऐडमिन /tags से मेरे टैग चुनते हैं; /digest कोई भी भेज सकता है।"
    ]
    await ask(bot, group, "/tags", from_user=MEMBER)
    toggled = await press(bot, group, last(bot, group), "llm (1)", from_user=MEMBER)
    assert answers(toggled) == ["इस ग्रुप के टैग सिर्फ़ इसके ऐडमिन बदल सकते हैं।"]

    await ask(bot, group, f"/brief {brief}", from_user=MEMBER)
    shown = last(bot, group)
    assert labels(shown) == ["#llm म्यूट करें", "यह सोर्स म्यूट करें", "☆ सेव करें"]  # no 👍/👎
    muted = await press(bot, group, shown, "#llm म्यूट करें", from_user=MEMBER)
    assert answers(muted) == [refusal]
    feedback = await bot.press(group, shown.message_id, f"fb:up:{brief}", MEMBER)
    assert answers(feedback) == ["फ़ीडबैक सिर्फ़ मेरे साथ प्राइवेट चैट में दिया जा सकता है।"]
    assert await bot.services.chats.tags(GROUP_ID) == []


# ---- nonsense, floods and failures ------------------------------------------------------------


async def test_a_hindi_users_5000_character_word_is_echoed_short(bot):
    me = hindi_chat(bot)
    word = "क" * 5000
    for command, start in [
        ("/subscribe", "क"),
        ("/unsubscribe", "आप क"),
        ("/summary", "क"),
        ("/mute", "“क"),
        ("/unmute", "“क"),
        ("/style", "कौन-सी स्टाइल (क"),
    ]:
        (answer,) = await ask(bot, me, f"{command} {word}")
        assert answer.startswith(start) and len(answer) < 300, (command, answer[:400])
        assert "…" in answer


async def test_floods_are_slowed_down_in_hindi(bot):
    me = hindi_chat(bot)
    await ask(bot, me, "/start")
    message = last(bot, me)
    replies: list[str] = []
    for _ in range(25):  # no time passes: far faster than a person
        replies += await bot.texts(me, "/mytags")
    assert replies.count("आप बहुत जल्दी-जल्दी कमांड भेज रहे हैं। कुछ सेकंड रुकें, फिर कोशिश करें।") == 1
    pressed = await bot.press(me, message.message_id, "td")
    assert answers(pressed) == ["बहुत जल्दी-जल्दी, कुछ सेकंड रुकें।"]


async def test_the_apology_for_a_failure_is_in_hindi(bot):
    me, english = hindi_chat(bot), bot.server.private_chat(ENGLISH_USER)
    cascade = " CASCADE" if bot.services.engine.dialect.name == "postgresql" else ""
    async with bot.services.engine.begin() as conn:
        await conn.execute(sa.text(f"DROP TABLE subscriptions{cascade}"))

    assert await ask(bot, me, "/mytags") == [
        "माफ़ कीजिए, मेरी तरफ़ से कुछ गड़बड़ हो गई। थोड़ी देर में फिर कोशिश करें।"
    ]
    assert await ask(bot, english, "/mytags") == [
        "Sorry, something went wrong on my side. Please try again in a moment."
    ]


# ---- keyboards other handlers show ------------------------------------------------------------


def test_settings_and_broadcast_keyboards_are_labelled_in_the_current_language():
    chat = Chat(id=1, frequency="weekly")
    with i18n.use("hi"):
        settings = [
            b.text for row in keyboards.settings_keyboard(chat).inline_keyboard for b in row
        ]
        forget = [b.text for row in keyboards.forget_keyboard().inline_keyboard for b in row]
        one = keyboards.broadcast_confirm(1, 1).inline_keyboard[0][0].text
        many = keyboards.broadcast_confirm(1, 1204).inline_keyboard[0][0].text
        stop = keyboards.broadcast_running([5]).inline_keyboard[0][0].text
        stops = [r[0].text for r in keyboards.broadcast_running([5, 6]).inline_keyboard]
    assert settings == [
        "समय −1 घंटा", "समय +1 घंटा", "रोज़", "सोम–शुक्र", "✓ हर हफ़्ते", "बंद",
        "न्यूनतम स्कोर −1", "न्यूनतम स्कोर +1", "साइज़ −1", "साइज़ +1",
    ]  # fmt: skip
    assert forget == ["हाँ, सब कुछ मिटा दें", "रद्द करें"]
    assert (one, many, stop, stops) == ("1 चैट को भेजें", "1,204 चैट को भेजें", "भेजना रोकें",
                                        ["#5 रोकें", "#6 रोकें"])  # fmt: skip
    english = [b.text for row in keyboards.settings_keyboard(chat).inline_keyboard for b in row]
    assert english[2:6] == ["daily", "weekdays", "✓ weekly", "off"]
    assert keyboards.broadcast_confirm(1, 2).inline_keyboard[0][0].text == "Send to 2 chats"
