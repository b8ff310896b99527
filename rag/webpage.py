"""Cleaning pages saved from the web before chunking: pure functions, str in, str out.

A page saved as text carries navigation, banners, cookie notices, teasers for other
articles, comments and footers around the article; left in, they are embedded and
retrieved like evidence. clean_web_text keeps the article. looks_like_web_page tells
such a page from a report saved as text, so the loader (rag/documents.py) knows whether
a .txt or .md file needs this module or report-text cleaning (rag/cleaning.py).

The rules judge a line by its features (length, sentence shape, position on the
page, call-to-action vocabulary, share of social-icon words) rather than by the exact
strings of the sites in the corpus, so that the next saved page is cleaned too. A line
of real prose is never dropped merely for containing a word such as "contact". The line
and word patterns shared with report-text cleaning are in rag/words.py.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.words import (
    BULLET,
    CLOSERS,
    NUMBERED_PARAGRAPH,
    PAGE_NUMBER_LINE,
    POSTCODE,
    ellipsis_end,
    ends_sentence,
    line_blocks,
    text_lines,
    word_count,
)

# A whole line that opens the related-articles / comments part of a page. Everything
# after it (once the article has begun) belongs to other pages or to readers.
_END_MARKER = re.compile(
    r"^\W*(?:"
    r"related(?:\s+(?:articles?|stories|posts|content|news|reading|links|topics|items))?"
    r"|more\s+(?:from|on|in)\s+.{1,60}|more\s+(?:stories|news|articles?|like\s+this)"
    r"|you\s+(?:may|might)\s+(?:also\s+)?(?:like|enjoy|be\s+interested\s+in)"
    r"|recommended(?:\s+(?:for\s+you|reading|articles?|stories))?"
    r"|most\s+(?:read|popular|viewed|shared)|popular\s+(?:posts|stories|articles|now)"
    r"|trending(?:\s+now)?|read\s+next|what\s+to\s+read\s+next|further\s+reading"
    r"|knowledge\s*(?:&|and)\s*resources|latest\s+(?:news|stories|articles|posts)"
    r"|comments?(?:\s*\(\d+\))?|\d+\s+comments?|comments\s+are\s+closed"
    r"|leave\s+a\s+(?:comment|reply)|post\s+a\s+comment"
    r"|join\s+the\s+(?:discussion|conversation)"
    r")\W*$",
    re.I,
)

# A bare "read more" link: it closes a teaser for another article.
_READ_MORE = re.compile(
    r"^\W*(?:read\s+(?:the\s+)?(?:full|more|whole|rest(?:\s+of\s+the)?)"
    r"(?:\s+(?:story|article|post|news|item|report))?"
    r"|read\s+(?:the\s+)?(?:story|article|post)"
    r"|continue\s+reading(?:\s+(?:the\s+)?(?:story|article|post))?)\W*$",
    re.I,
)
# "Read more: <headline>", a link to another article set inside this one.
_READ_MORE_LINK = re.compile(
    r"^\W*(?:read\s+more|see\s+also|related)\s*[:\u2013\u2014-]\s*\S", re.I
)

# Call-to-action phrases that mean the same on any site. Only applied to short lines
# that are not reported speech, so article sentences that use the words survive.
_CTA = re.compile(
    r"\bsubscribe\s+(?:now|today|here|for\s+free|to\s+(?:our|the\s+newsletter))\b|^subscribe\b"
    r"|\bsign\s+up\s+(?:now|today|here|for\s+(?:our|free|the)|to\s+(?:our|receive))\b|^sign\s+up\b"
    r"|\b(?:our|weekly|daily|free|email|e-mail)\s+(?:e-?)?newsletters?\b|^newsletters?\b"
    r"|\bshare\s+(?:this|on|via)\s+(?:article|story|page|post|facebook|twitter|linkedin|email)\b"
    r"|^share(?:\s+this)?\W*$|\bfollow\s+us\b|\bprivacy\s+(?:policy|notice|settings)\b"
    r"|\bterms\s+(?:and|&)\s+conditions\b|\bterms\s+of\s+(?:use|service)\b"
    r"|\baccessibility\s+statement\b|\bskip\s+to\s+(?:main\s+)?(?:content|navigation)\b"
    r"|\bback\s+to\s+top\b|\bdownload\s+(?:our|the)\s+app\b"
    r"|\bif\s+you\s+(?:enjoyed|liked)\s+this\b|\bdonate\s+(?:now|today)\b"
    r"|\b(?:support|join|back)\s+our\b.{0,80}\bcampaign\b"
    r"|\bsign\s+(?:our|the)\s+(?:open\s+letter|petition)\b"
    r"|\bprint\s+this\s+(?:page|article)\b|\bemail\s+this\s+(?:page|article)\b",
    re.I,
)
# Phrases a press release may use in a real sentence ("worried residents should contact
# us on ..."): furniture only as a label, not inside a full sentence.
_CTA_LABEL = re.compile(
    r"\bmake\s+an\s+enquiry\b|\bcontact\s+us\b|\bget\s+in\s+touch\b|\bclick\s+here\b",
    re.I,
)
# Single words that are navigation only when they make up a tiny line on their own.
_NAV_WORDS = re.compile(
    r"^\W*(?:home|menu|search|log\s*in|login|log\s*out|sign\s+in|sign\s+out|register"
    r"|my\s+account|subscribe(?:\s+(?:now|today))?|jobs|events|donate|advertise"
    r"|advertisement|sponsored(?:\s+content)?|about(?:\s+us)?|print|email|share"
    r"|next(?:\s+article)?|previous(?:\s+article)?)\W*$",
    re.I,
)
_COOKIE = re.compile(
    r"\bcookies?\b.*\b(?:we\s+use|use\s+of|accept|consent|settings|policy|preferences"
    r"|continu(?:e|ing)|brows(?:e|ing)|agree|manage)\b"
    r"|\b(?:accept|reject|manage)\b.*\bcookies?\b",
    re.I,
)
_PHOTO = re.compile(
    r"^\W*(?:main\s+|top\s+|header\s+)?(?:photo(?:graph)?|picture|pic|image|illustration"
    r"|credit)s?(?:\s+credit)?\s*(?::|\bby\b|\bcourtesy\b|\u00a9)"
    r"|\b(?:fotolia|getty\s*images|shutterstock|alamy|istock(?:photo)?|adobe\s*stock"
    r"|pa\s+(?:images|wire|media)|unsplash)\b",
    re.I,
)
_BYLINE = re.compile(
    r"^(?i:by)\s*(?:$|(?i:on)\b|[|,\u2013\u2014-])"
    r"|^(?i:by)\s+[A-Z][\w.'\u2019-]*(?:\s+[A-Z][\w.'\u2019-]*){0,3}\s*(?:$|on\b|[|,\u2013\u2014-]|\d)"
    r"|^(?i:posted|published|updated|last\s+updated|first\s+published)\b\s*(?i:on\b|:|\d|by\b)",
)
_TAGS = re.compile(
    r"^\W*(?:tags?|tagged(?:\s+with)?|topics?|categories|category|filed\s+under|posted\s+in"
    r"|keywords)\s*:",
    re.I,
)
_COPYRIGHT = re.compile(
    r"\u00a9|\(c\)\s*(?:19|20)\d\d|\bcopyright\s+(?:\u00a9|(?:19|20)\d\d)|\ball\s+rights\s+reserved\b",
    re.I,
)
_CREDIT = re.compile(
    r"\b(?:web(?:site)?\s+(?:design(?:ed)?|developed|built|development)(?:\s+and\s+\w+)?\s+by"
    r"|site\s+by|theme\s+by|web\s+design\b)",
    re.I,
)
# Credit wording that an article sentence can use too ("a service designed by young
# people", "a collaboration between police and schools"): only on label-shaped lines.
_CREDIT_LABEL = re.compile(
    r"\b(?:(?:designed|developed)\s+(?:and\s+built\s+)?by|powered\s+by"
    r"|a\s+[\w&' -]{1,40}\bcollaboration\b)",
    re.I,
)
_LEGAL = re.compile(
    r"\bregistered\s+(?:in\s+england|office|charity|company)\b|\bcompany\s+(?:no|number|reg)"
    r"|\bvat\s+(?:no|number|reg)|\bcharity\s+(?:no|number)",
    re.I,
)
_PHONE_LINE = re.compile(
    r"^\W*(?:(?:tel|telephone|phone|call\s+us|fax|e-?mail)\s*[:.]|[te]\s*:)\s*\S.*[\d@]", re.I
)
_CRUMB_SEP = re.compile(r"(?<!\s)\s+[>\u203a\u00bb|/]\s+")  # from a run's start: linear
_SPEECH = re.compile(r"[\u201c\u201d\"]|\b(?:said|says|told)\b", re.I)

# Icon and network names as they appear when an icon font or SVG titles are saved as
# text ("closechevron-downbars linkedin facebook ..."). Tokens are split into these.
_ICON_VOCAB = frozenset(
    """facebook twitter linkedin instagram youtube pinterest rss tiktok whatsapp email mail
    envelope reddit tumblr snapchat threads mastodon bluesky google plus vimeo flickr
    telegram messenger share print copy link close chevron down up left right bars menu
    search icon blank arrow caret times angle home user social feed circle square fa x
    alt play bookmark phone external open hamburger burger toggle""".split()
)
_ICON_LONGEST = max(map(len, _ICON_VOCAB))
_SHORT_NAV = 4  # words: a menu item
_SHORT_LINE = 15  # words: a tagline or label, not a paragraph
_CTA_MAX = 25  # words: longer lines are prose even if they say "contact us"


@lru_cache(maxsize=4096)
def _icon_token(token: str) -> bool:
    """Whether a token is a run of icon words glued together ("closechevron")."""
    if token in _ICON_VOCAB:
        return True
    # Only the last _ICON_LONGEST letters can end in an icon word: linear in the token,
    # where trying every start made a long token (a 1 MB run of letters) cubic.
    ok = [True] + [False] * len(token)
    for end in range(1, len(token) + 1):
        ok[end] = any(
            ok[start] and token[start:end] in _ICON_VOCAB and end - start > 1
            for start in range(max(0, end - _ICON_LONGEST), end)
        )
    return ok[-1]


def _social_icons(line: str) -> bool:
    tokens = re.findall(r"[a-z]+", line.lower())
    if not tokens or re.search(r"[.!?,;:]\s", line):
        return False
    icons = sum(_icon_token(t) for t in tokens)
    if len(tokens) >= 3:
        return icons / len(tokens) >= 0.7
    return icons == len(tokens) and bool(
        re.fullmatch(r"[\W_]*(?:facebook|twitter|linkedin|instagram|youtube|pinterest|rss"
                     r"|tiktok|whatsapp|reddit|x)(?:[\W_]+\w+)?[\W_]*", line.strip().lower())
    )


def _breadcrumb(line: str) -> bool:
    parts = [p for p in _CRUMB_SEP.split(line.strip()) if p]
    if len(parts) < 2 or ends_sentence(line):
        return False
    short = all(word_count(p) <= _SHORT_NAV for p in parts)
    return short and (len(parts) >= 3 or parts[0].strip().lower() == "home")


def _boilerplate_reason(line: str) -> str | None:
    """Why a line is page furniture rather than article text, or None when it is not."""
    s = line.strip()
    if not s:
        return None
    words = word_count(s)
    if _social_icons(s):
        return "social icons"
    if words <= 60 and _COOKIE.search(s):
        return "cookie notice"
    if words > _CTA_MAX:
        return None
    label = not ends_sentence(s) or "|" in s  # not shaped like a sentence
    if _COPYRIGHT.search(s):
        return "copyright"
    if _CREDIT.search(s) or (label and words <= _SHORT_LINE and _CREDIT_LABEL.search(s)):
        return "design credit"
    if label and _LEGAL.search(s):
        return "company details"
    if _TAGS.match(s):
        return "tags"
    if words <= 12 and _PHOTO.search(s):
        return "photo credit"
    if words <= 12 and not ends_sentence(s) and _BYLINE.match(s):
        return "byline"
    if _READ_MORE.match(s) or _END_MARKER.match(s):
        return "teaser link"
    if words <= 20 and _READ_MORE_LINK.match(s):
        return "teaser link"
    if _breadcrumb(s):
        return "navigation"
    if words <= 20 and not ends_sentence(s) and POSTCODE.search(s) and s.count(",") >= 2:
        return "address"
    if words <= 12 and _PHONE_LINE.match(s):
        return "contact details"
    if words <= _SHORT_NAV and _NAV_WORDS.match(s):
        return "navigation"
    sentences = len(re.findall(r"[.!?](?:\s|$)", s))
    if not _SPEECH.search(s) and sentences <= 1:
        if _CTA.search(s) or (_CTA_LABEL.search(s) and (label or words <= 6)):
            return "call to action"
    return None


def _is_prose(line: str) -> bool:
    s = line.strip()
    return word_count(s) >= 8 and (ends_sentence(s) or len(s) >= 80)


def _navish(line: str) -> bool:
    """A short line without sentence punctuation: a label, menu item or tagline."""
    s = line.strip()
    if not s or ends_sentence(s):
        return False
    if BULLET.match(s) and word_count(s) >= 3:
        return False
    return word_count(s) <= _SHORT_LINE


def _title_like(line: str) -> bool:
    """A teaser's headline: short, and not ending the way a sentence or teaser does."""
    s = line.strip()
    if not s or word_count(s) > 12 or ellipsis_end(s):
        return False
    return not s.rstrip(CLOSERS).endswith((".", ";", ",", ":"))


def _drop_teaser(i: int, lines: list[str], keep: list[bool], spans: list[tuple[int, int]],
                 block_of: list[int]) -> None:
    """Drop a "read more" link and the teaser above it: headline, standfirst, excerpt.

    Walks back a few blocks to the nearest headline-shaped line. When none is near, only
    blocks that end in an ellipsis are taken, so article paragraphs above a lone link
    stay.
    """
    keep[i] = False
    b = block_of[i]
    units: list[list[int]] = []
    if spans[b][0] < i:
        units.append(list(range(spans[b][0], i)))
    units += [list(range(*spans[bb])) for bb in range(b - 1, max(-1, b - 5), -1)]
    collected: list[list[int]] = []
    found_title = False
    for unit in units[:4]:
        live = [j for j in unit if keep[j]]
        if not live or (len(live) < len(unit) and unit is not units[0]):
            break  # an earlier teaser or cut: the boundary of this one
        collected.append(live)
        if _title_like(lines[live[0]]):
            found_title = True
            break
    if not found_title:
        leading: list[list[int]] = []
        for live in collected:
            if not ellipsis_end(lines[live[-1]]):
                break
            leading.append(live)
        collected = leading
    for live in collected:
        for j in live:
            keep[j] = False


def clean_web_text(text: str) -> str:
    """Remove web-page boilerplate from a page saved as plain text, keeping the article.

    Order matters: the tail (related articles, comments) goes first so that its teasers
    and footers cannot be mistaken for article paragraphs; then teasers, then single
    lines by their features, then blocks made mostly of furniture, then menu runs
    above the article and labels below it.
    """
    lines = text_lines(text)
    stripped = [line.strip() for line in lines]
    keep = [bool(s) for s in stripped]
    spans = line_blocks(lines)
    block_of = [-1] * len(lines)
    for b, (start, end) in enumerate(spans):
        for j in range(start, end):
            block_of[j] = b

    # 1. The related/comments tail, once the article has started.
    prose = 0
    for i, s in enumerate(stripped):
        if prose >= 2 and _END_MARKER.match(s):
            for j in range(i, len(lines)):
                keep[j] = False
            break
        prose += _is_prose(s)

    # 2. Teasers for other articles.
    for i, s in enumerate(stripped):
        if keep[i] and _READ_MORE.match(s):
            _drop_teaser(i, stripped, keep, spans, block_of)

    # 3. Lines that are furniture by themselves.
    reason = [_boilerplate_reason(s) if keep[i] else None for i, s in enumerate(stripped)]
    dropped_earlier = [bool(s) and not keep[i] for i, s in enumerate(stripped)]
    for i, why in enumerate(reason):
        if why:
            keep[i] = False

    # 4. Blocks (header, footer) made mostly of furniture: the rest of the block goes too.
    for start, end in spans:
        if end - start < 3:
            continue
        strong = sum(1 for j in range(start, end) if reason[j] or dropped_earlier[j])
        weak = sum(1 for j in range(start, end) if keep[j] and _navish(stripped[j]))
        if strong and (strong + weak) / (end - start) >= 0.6:
            for j in range(start, end):
                keep[j] = False

    # Without a paragraph of prose there is no article to tell menus and labels from.
    first_prose = next((i for i, s in enumerate(stripped) if keep[i] and _is_prose(s)), None)
    if first_prose is None:
        return _join_kept(stripped, keep)

    # 5. Menu runs above the article: three or more tiny lines in a row.
    run: list[int] = []
    for i in [*range(first_prose), None]:
        if i is not None and not keep[i]:
            continue
        if (
            i is not None
            and word_count(stripped[i]) <= _SHORT_NAV
            and not ends_sentence(stripped[i])
        ):
            run.append(i)
            continue
        if len(run) >= 3:
            for j in run:
                keep[j] = False
        run = []

    # 6. Labels, tags and taglines left dangling after the article.
    for i in range(len(lines) - 1, -1, -1):
        if not keep[i]:
            continue
        if not _navish(stripped[i]):
            break
        keep[i] = False

    return _join_kept(stripped, keep)


def _join_kept(stripped: list[str], keep: list[bool]) -> str:
    out: list[str] = []
    blank = False
    for s, k in zip(stripped, keep, strict=True):
        if k:
            if blank and out:
                out.append("")
            out.append(re.sub(r"[ \t]{2,}", " ", s))
            blank = False
        elif not s:
            blank = True
    return "\n".join(out)


# A letter's salutation or sign-off at a line's start. The white space before it stays
# on its line: "^\s*" crossed blank lines from every line start (quadratic in a run of
# newlines) and found nothing more, as only the nearest line start can be followed by
# white space alone.
_SALUTATION = re.compile(r"^[^\S\n]*(?:dear\s+\w|yours\s+(?:sincerely|faithfully))", re.I | re.M)


def looks_like_web_page(text: str) -> bool:
    """Guess whether a .txt/.md file is a saved web page (so clean_web_text applies).

    A page shows several different kinds of furniture (icons, bylines, teasers, tags,
    calls to action); one kind alone is not enough, because PDF reports carry a contact
    line or a copyright notice too. Report shape (numbered paragraphs, a letter's
    salutation and sign-off, page numbers) counts against.
    """
    lines = text_lines(text)
    kinds: set[str] = set()
    prose = 0
    for line in lines:
        s = line.strip()
        why = _boilerplate_reason(s)
        if why in ("address", "contact details", "copyright"):
            why = None  # letters and reports have these too
        if why:
            kinds.add(why)
        if prose >= 2 and _END_MARKER.match(s):
            kinds.add("comments or related")
        prose += _is_prose(s)
    report = 0.0
    numbered = sum(1 for line in lines if NUMBERED_PARAGRAPH.match(line))
    report += 2 if numbered >= 5 else 0
    report += 1.5 if _SALUTATION.search(text) else 0
    report += 1 if re.search(r"\bcrown\s+copyright\b", text, re.I) else 0
    report += 1 if sum(1 for line in lines if PAGE_NUMBER_LINE.match(line)) >= 2 else 0
    return len(kinds) >= 2 and len(kinds) > report
