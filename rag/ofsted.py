"""What an Ofsted publication says about itself: council, kind, framework, dates, grades.

A library of many councils and years has to be searchable by council and year and able
to list judgements, and the only metadata every report and letter reliably carries is
its own heading: a letter's date, addressee and subject line ("Focused visit to Dudley
Metropolitan Borough Council children's services"), a report's title page ("Inspection
of York local authority children's services", "Inspection date: 14 November 2016 - 8
December 2016", "Report published: ...") and the judgement table under it. File names,
catalogue entries and web-page titles differ from source to source; the document does
not. So this module reads that heading from the text, and nothing else: no list of
councils (a new council or a renamed trust is read as it is written), no file name.

Pure: str in, data out; imports only the standard library and `rag.words`. Reading is
bounded to the first `HEAD_CHARS` characters, where every heading and judgement table
of the 859-report scale corpus sits, and every pattern below is either anchored on a
literal or has bounded repetition, so a 1 MB line without a space costs the same as a
short report, and odd input (empty, a press release, binary junk) gives an empty
`OfstedMeta` rather than an exception.

Vocabularies (stable; the library table and retrieval scopes rely on them):

kind
    "inspection" (a full inspection of a council's children's services: ILACS, SIF
    and the 2013 looked-after-children inspections), "focused visit", "monitoring
    visit", "joint targeted area inspection", or None (not an Ofsted publication, or one
    of another kind, e.g. a review of a Local Safeguarding Children Board on its own).
framework
    "ILACS" (inspection of local authority children's services, 2018 on), "SIF" (the
    single inspection framework, "Inspection of services for children in need of help
    and protection, children looked after and care leavers", 2013-2018), or None (a
    letter, an earlier framework, or unknown).
judgements (keys; values are "outstanding", "good", "requires improvement to be good",
"inadequate"; SIF's "requires improvement" is the same grade and is written the same;
"adequate" only from the scale before 2013)
    overall_effectiveness  ILACS "Overall effectiveness"; SIF "Children's services in X
                           are ..." / "The overall judgement is ..."; a 2013 inspection
                           of looked after children's services "Overall effectiveness of
                           services for looked after children and young people Grade 4
                           (Inadequate)"
    impact_of_leaders      ILACS "The impact of leaders on social work practice with
                           children and families"
    help_and_protection    both: "(The experiences and progress of) children who need
                           help and protection"
    children_in_care       ILACS "The experiences and progress of children in care and
                           care leavers"; from 2023 "... of children in care"
    care_leavers           ILACS from 2023 "The experiences and progress of care
                           leavers"; SIF 2.2 "Experiences and progress of care leavers"
    looked_after_and_permanence  SIF 1/2 "Children looked after and achieving permanence"
    adoption               SIF 2.1 "Adoption performance"
    leadership             SIF 3 "Leadership, management and governance"
    lscb                   SIF's combined review: "The effectiveness of the Local
                           Safeguarding Children Board"
    Only an inspection has judgements: a letter quoting the last inspection's grades
    ("when services were judged to require improvement to be good") gets {}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from rag.words import JOINING_WORDS

# What read_metadata reads, in the index manifest: an index read by an older version is
# rebuilt. 2: the 2013 looked-after-children inspections' judgements on their own scale.
VERSION = 2
HEAD_CHARS = 8000  # the heading, title page and judgement table all sit in this much text

KINDS = ("inspection", "focused visit", "monitoring visit", "joint targeted area inspection")
FRAMEWORKS = ("ILACS", "SIF")
# "adequate": grade 3 of the scale before 2013, which the 2013 inspections of looked after
# children's services still used ("Grade 3 (Adequate)").
GRADES = ("outstanding", "good", "requires improvement to be good", "adequate", "inadequate")
JUDGEMENT_KEYS = (
    "overall_effectiveness", "impact_of_leaders", "help_and_protection", "children_in_care",
    "care_leavers", "looked_after_and_permanence", "adoption", "leadership", "lscb",
)


@dataclass(frozen=True)
class OfstedMeta:
    """The metadata an Ofsted publication states about itself; None where it does not.

    Dates are ISO (YYYY-MM-DD). For a letter, `published` is the letter's date and the
    visit's dates are `inspection_start`/`inspection_end`.
    """

    council: str | None = None
    kind: str | None = None
    framework: str | None = None
    inspection_start: str | None = None
    inspection_end: str | None = None
    published: str | None = None
    judgements: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------- text
_PLAIN = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u201c": '"', "\u201d": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u2500": "-", "\u00a0": " ", "\u00ad": "", "\f": "\n", "\r": "\n",
    "\t": " ", "\u25fc": " ", "\u2022": " ",
})
_SPACES = re.compile(r"[ \n]+")


def _flatten(head: str) -> str:
    """The head as one line: curly quotes and dashes plain, whitespace runs one space."""
    return _SPACES.sub(" ", head.translate(_PLAIN)).strip()


# ------------------------------------------------------------------------------ dates
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_DAY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")
_YEAR = re.compile(r"(?:19|20)\d\d")
_NUMERIC = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})")
_JOINERS = frozenset({"and", "to", "-", ",", "the", "of", "until", "till", "&", "from"})
_TRAILING = ".,;:)("
_DATE_WINDOW = 160  # a date phrase ("29 September 2025 to 10 October 2025 and ...") fits


@dataclass
class _Day:
    day: int
    month: int | None = None
    year: int | None = None
    inherited: bool = True  # the year came from a later token or the letter, not beside it


def _iso(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _date_runs(window: str) -> list[list[_Day]]:
    """Runs of day/month/year tokens ("7 March to 18 March 2022") in a short window.

    A run ends at any word that is not a date part or a joiner ("and", "to", "-", "of"),
    and at a sentence's full stop. Each day takes the first month and year after it in
    its run, which reads "26 to 27 March 2025", "29 and 30 September, and 1 October
    2020" and "14 November 2016 - 8 December 2016" alike.
    """
    text = window.translate(_PLAIN).replace("-", " - ").replace(",", " , ")
    runs: list[list[_Day]] = []
    items: list[object] = []  # _Day | ("month", n) | ("year", n)

    def close() -> None:
        days = [i for i in items if isinstance(i, _Day)]
        if days:
            month = year = None
            for item in reversed(items):  # fill each day from the nearest later month/year
                if isinstance(item, tuple):
                    if item[0] == "month":
                        month = item[1]
                    else:
                        year = item[1]
                elif item.month is None:
                    item.month, item.year = month, year
                elif item.year is None:
                    item.year = year
            for at, item in enumerate(items[:-2]):  # "8 December 2016": its own year
                if (isinstance(item, _Day) and isinstance(items[at + 1], tuple)
                        and items[at + 1][0] == "month" and isinstance(items[at + 2], tuple)
                        and items[at + 2][0] == "year"):
                    item.inherited = False
            if any(d.month for d in days):
                runs.append(days)
        items.clear()

    previous_day = False  # the token before was a day: two in a row are not one date
    for raw in text.split():
        token = raw.rstrip(_TRAILING).lstrip("(")
        ends_sentence = raw.endswith(".") and token.lower() not in _MONTHS
        low = token.lower()
        if (m := _NUMERIC.fullmatch(token)) is not None:
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            items.append(_Day(int(m[1]), int(m[2]), year, inherited=False))
        elif (m := _DAY.fullmatch(token)) is not None and 1 <= int(m[1]) <= 31:
            if previous_day:
                close()  # "1 16 November 2018": a page number, then the date
            items.append(_Day(int(m[1])))
            previous_day = True
            if ends_sentence:
                close()
            continue
        elif _YEAR.fullmatch(token):
            items.append(("year", int(token)))
        elif low in _MONTHS or low.rstrip(".") in _MONTHS:
            items.append(("month", _MONTHS[low.rstrip(".")]))
        elif low in _JOINERS or not token:
            pass
        else:
            close()
            previous_day = False
            continue
        previous_day = False
        if ends_sentence:
            close()
    close()
    return runs


def _run_dates(run: list[_Day], reference: date | None) -> list[date]:
    """The dates of a run, a missing year read from `reference` (a letter's date).

    A year written only at the end ("12 December to 6 January 2023") is moved back for a
    day that would otherwise come after the day that follows it; a visit without a year
    ("on 30 and 31 January", in a letter of 22 February 2018) is the latest such day not
    after the letter.
    """
    out: list[tuple[date, bool]] = []
    for d in run:
        if d.month is None:
            continue
        year, inherited = d.year, d.inherited or d.year is None
        if year is None:
            if reference is None:
                continue
            year = reference.year
            if (when := _iso(year, d.month, d.day)) is not None and when > reference:
                year -= 1
        when = _iso(year, d.month, d.day)
        if when is not None:
            out.append((when, inherited))
    for i in range(len(out) - 2, -1, -1):
        (when, inherited), (later, _) = out[i], out[i + 1]
        if inherited and when > later:
            earlier = _iso(when.year - 1, when.month, when.day)
            if earlier is not None:
                out[i] = (earlier, inherited)
    return [when for when, _ in out]


def _first_dates(window: str, reference: date | None = None,
                 full: bool = False) -> list[date]:
    """The dates of the first run in `window` that gives any (with a year, if `full`)."""
    for run in _date_runs(window):
        if full and not any(d.year for d in run):
            continue
        if dates := _run_dates(run, reference):
            return dates
    return []


# ---------------------------------------------------------------------------- councils
# Words that name the kind of body rather than the place: "London Borough of", "City
# Council", "Children's Trust". Removed from a council's name, longest first.
_NAME_PREFIXES = (
    "the ", "london borough of ", "royal borough of ", "metropolitan borough of ",
    "county borough of ", "city and county of ", "borough of ", "council of the ",
    "council of ",
)
_NAME_SUFFIXES = (
    " local authority children's services", " local authority children's social care",
    " children's social care services", " children's social care", " children's services",
    " children's services trust", " children and families trust", " children's trust",
    " children first", " safeguarding children board", " safeguarding children partnership",
    " local authority", " unitary authority", " city of", "'s",
)
# Trailing words that say what kind of body it is: "Wakefield District Metropolitan
# Council", "Portsmouth City", "Bedford Borough Council", "Doncaster MBC".
_BODY_WORDS = frozenset("council metropolitan district borough city county corporation mbc"
                        .split())
_PAGE_NUMBER = re.compile(r"^\d{1,3} ")


def _tidy_council(raw: str) -> str | None:
    """A council's name as people say it: "London Borough of Barking and Dagenham" ->
    "Barking and Dagenham", "City of Bradford Metropolitan District Council" ->
    "Bradford", "Sandwell Children's Trust" -> "Sandwell", "Durham's" -> "Durham".
    "City of London" keeps its "City of": there it is the place's name. None when
    nothing place-like is left.
    """
    name = _SPACES.sub(" ", raw.translate(_PLAIN)).strip(" .,;:-'\"")
    name = _PAGE_NUMBER.sub("", name)  # a page number pypdf ran into the title
    changed = True
    while changed and name:
        changed = False
        low = name.lower()
        for prefix in _NAME_PREFIXES:
            if low.startswith(prefix) and len(name) > len(prefix):
                name, changed = name[len(prefix):].strip(), True
                break
        low = name.lower()
        if low.startswith("city of ") and not low.startswith("city of london"):
            name, changed = name[8:].strip(), True
        for suffix in _NAME_SUFFIXES:
            if low.endswith(suffix) and len(name) > len(suffix):
                name, changed = name[: len(name) - len(suffix)].strip(" ,"), True
                break
        words = name.split()
        if len(words) > 1 and words[-1].lower() in _BODY_WORDS:
            name, changed = " ".join(words[:-1]).strip(" ,"), True
    name = name.strip(" .,;:-'\"")
    if not name or not name[0].isalpha() or len(name) > 60 or len(name.split()) > 7:
        return None
    if not any(c.isupper() for c in name):
        return None
    return name


_KEY_PHRASES = (
    "london borough of", "royal borough of", "metropolitan borough of", "county borough of",
    "city and county of", "borough of", "council of the", "council of", "city of",
    "metropolitan borough council", "metropolitan district council", "metropolitan borough",
    "metropolitan district", "childrens services trust", "children and families trust",
    "childrens trust", "childrens services", "childrens social care", "local authority",
    "safeguarding children board", "safeguarding children partnership", "city council",
    "county council", "borough council", "district council", "unitary authority", "council",
    "corporation", "mbc", "city", "county", "borough", "metropolitan", "the",
)
_KEY_PUNCT = re.compile(r"[^a-z0-9]+")


def council_key(name: str) -> str:
    """A key under which the ways people write a council's name meet.

    Lower case; "&" read as "and"; apostrophes dropped and other punctuation made a
    space; the words that name the kind of body rather than the place removed ("the",
    "council", "city", "county", "borough", "metropolitan borough", "London Borough of",
    "Royal Borough of", "children's trust", "children's services"...). So "Sandwell
    Children's Trust", "Sandwell Metropolitan Borough Council" and "Sandwell" are all
    "sandwell", and "City of London Corporation" and "London Corporation" both "london".
    An initialism ("BCP") is its own key, "bcp": `same_council` and `council_aliases`
    match it to the name it abbreviates.
    """
    text = name.translate(_PLAIN).lower().replace("&", " and ").replace("'", "")
    text = " " + _KEY_PUNCT.sub(" ", text).strip() + " "
    for phrase in _KEY_PHRASES:
        needle = " " + phrase + " "
        while needle in text and text.strip() != phrase:
            text = text.replace(needle, " ")
    return " ".join(text.split())


def _initials(words: list[str], keep_joining: bool) -> str:
    return "".join(w[0] for w in words if keep_joining or w not in JOINING_WORDS)


def council_aliases(name: str) -> set[str]:
    """The keys a council may be written as: its key and the initialisms people use.

    Initialisms are made, not listed: the initials of the key's words with and without
    the little words ("bcp" for Bournemouth, Christchurch and Poole; "banes" and "bnes"
    for Bath and North East Somerset; "cwac" for Cheshire West and Chester; "iow" for
    Isle of Wight), and of the name as written with its "Royal Borough of"/"Council"
    ("rbwm" for the Royal Borough of Windsor and Maidenhead, "nelc" for North East
    Lincolnshire Council). Only names of two or more words give initialisms.
    """
    key = council_key(name)
    out = {key} if key else set()
    written = _KEY_PUNCT.sub(" ", name.translate(_PLAIN).lower().replace("&", " and ")
                             .replace("'", "")).split()
    for words in (key.split(), written):
        if len([w for w in words if w not in JOINING_WORDS]) >= 2:
            out |= {_initials(words, False), _initials(words, True)}
    return {a for a in out if len(a) >= 2}


# The words after which a name's tail may be dropped: "East Riding [of Yorkshire]",
# "Newcastle [upon Tyne]", "Stoke[-on-Trent]".
PLACE_TAILS = frozenset({"of", "upon", "on"})


def same_council(a: str, b: str) -> bool:
    """Whether two written names are the same council.

    Equal keys ("Sandwell Children's Trust" and "Sandwell"); an initialism and the name
    it abbreviates ("BCP" and "Bournemouth, Christchurch and Poole Council"); or a short
    form that is the name's leading words before "of", "upon" or "on" ("Newcastle" and
    "Newcastle upon Tyne", "East Riding" and "East Riding of Yorkshire", "Stoke" and
    "Stoke-on-Trent"). "Hull" is not matched to "Kingston upon Hull": a short form made
    of the words after "upon" would also make "Thames" a council.
    """
    ka, kb = council_key(a), council_key(b)
    if not ka or not kb:
        return False
    if ka == kb:
        return True
    if (" " not in ka and ka in council_aliases(b)) or (" " not in kb and kb in
                                                        council_aliases(a)):
        return True
    short, long = sorted((ka.split(), kb.split()), key=len)
    return long[: len(short)] == short and long[len(short)] in PLACE_TAILS


# ------------------------------------------------------------------------------ titles
# What kind of publication the title or subject line says it is. Bounded repetition
# only: each pattern is a literal with at most `{1,n}` gaps.
_CS = r"children'?s(?: social care)? services"
# A letter's subject line comes straight after its salutation ("Dear Ms Knowles"), in
# capitals: a lower-case "the focused visit to" further on is a sentence, not a subject.
_SALUTATION = 80
_LETTER_SUBJECT = re.compile(
    r"\b(Focused|Focus|Monitoring|FOCUSED|MONITORING) (?i:visit (?:to|of)) (.{1,120}?)"
    r"(?i:(?: local authority)? " + _CS + r"|(?= This letter)|(?= Her Majesty)"
    r"|(?= His Majesty)|$)")
_JTAI = re.compile(r"\bJoint targeted area inspection of ")
_SUMMARISES = re.compile(
    r"summarises the (?:main )?findings (?:of|from) (?:a|the|an) (?:\w+ )?"
    r"(focused|monitoring) visit (?:to|of) (?:the )?(.{1,120}?) (?:local authority )?" + _CS,
    re.I)
_SIF_TITLE = re.compile(
    r"(?:Re-?|Re )?[Ii]nspection of services for children in need of help and protection")
_EARLY_ILACS_TITLE = re.compile(r"Inspection of children'?s social care services")
_LAC_TITLE = re.compile(r"Inspection of (?:safeguarding and )?looked after children(?:'s)? "
                        r"services", re.I)
_GENERIC_ILACS_TITLE = re.compile(r"Inspection of local authority " + _CS)
_ILACS_TITLE = re.compile(r"Inspection of (.{2,120}?) (?=Inspection dates?\b|Lead inspector)")
_LSCB_TITLE = re.compile(r"Review of the effectiveness of the Local Safeguarding Children "
                         r"Board", re.I)
_SIF_TABLE = re.compile(r"(?:Children looked after and achieving permanence|Adoption "
                        r"performance|Leadership, management and governance) ?:? ?"
                        r"(?:Outstanding|Good|Requires|Inadequate)", re.I)
_DEAR = re.compile(r"\bDear \w")
# What every Ofsted letter carries somewhere near its head: the name, its address, or
# its inspectors. A "Dear ..." in a news story that mentions a visit has none of them.
_OFSTED_MARK = re.compile(r"Ofsted|\bHMI\b|Majesty's Inspector|summarises the findings", re.I)
_INSPECTION_DATES = re.compile(r"Inspection dates?\b:?", re.I)
_PUBLISHED = re.compile(r"\b[Rr]eport [Pp]ublished\b:?|\bPublished:")
_CHILDRENS_SERVICES_IN = re.compile(
    r"Children's services in (?:the )?(.{2,80}?) (?:area )?(?:are|is|require|requires) ")
_ADDRESS_COUNCIL = re.compile(
    r"^(?:(?:London|Royal) Borough of .{2,60}|.{2,60}? (?:Council|Corporation)|"
    r"Council of the .{2,60})$")


def _jtai_area(lines: list[str]) -> str | None:
    """The area a joint targeted area inspection letter names: "Joint targeted area
    inspection of the multi-agency response to abuse and neglect in Hampshire". Read
    from the subject's own line (and the next, when the subject wraps), because the
    letter's first sentence follows it in flattened text and starts with a capital too.
    """
    for at, line in enumerate(lines[:80]):
        if line.lower().startswith("joint targeted area inspection"):
            subject = line
            if " in " not in subject[-60:] or subject.endswith(" in"):
                subject += " " + (lines[at + 1] if at + 1 < len(lines) else "")
            where = subject.rfind(" in ")
            return subject[where + 4:] if where >= 0 else None
    return None


def _letter(flat: str, lines: list[str]) -> dict | None:
    """A letter's subject, addressee's council, date and visit dates; None if not one."""
    dear = _DEAR.search(flat[:4000])
    if dear is None:
        return None
    after = flat[dear.start(): dear.start() + 600]
    kind = council = None
    anchor = dear.start()
    if (m := _LETTER_SUBJECT.search(after)) is not None and (
            m.start() <= _SALUTATION):
        kind = "focused visit" if m[1].lower().startswith("focus") else "monitoring visit"
        council, anchor = m[2], dear.start() + m.end()
    elif (m := _JTAI.search(after)) is not None and m.start() <= _SALUTATION:
        kind, anchor = "joint targeted area inspection", dear.start() + m.end()
        council = _jtai_area(lines)
    summary = _SUMMARISES.search(flat[dear.start(): dear.start() + 2500])
    if summary is not None:
        if kind is None:
            kind = "focused visit" if summary[1].lower() == "focused" else "monitoring visit"
        if council is None or _tidy_council(council) is None:
            council = summary[2]
        anchor = dear.start() + summary.end()
    if kind is None or not _OFSTED_MARK.search(flat[:6000]):
        return None
    letter_dates = _first_dates(flat[max(0, dear.start() - 1500): dear.start()], full=True)
    letter_date = letter_dates[0] if len(letter_dates) == 1 else None
    visit = _first_dates(flat[anchor: anchor + 1200], reference=letter_date)
    if letter_date is not None and visit and letter_date < max(visit):
        # A letter cannot come before its visit: the year was mistyped ("21 January
        # 2019" on the letter about a visit on 18 and 19 December 2019).
        later = _iso(letter_date.year + 1, letter_date.month, letter_date.day)
        if later is not None and later >= max(visit):
            letter_date = later
    name = _tidy_council(council) if council else None
    if name is None:
        for line in lines[:40]:
            if line.startswith("Dear"):
                break
            if _ADDRESS_COUNCIL.match(line) and (name := _tidy_council(line)):
                break
    return {
        "council": name, "kind": kind, "framework": None, "judgements": {},
        "published": letter_date.isoformat() if letter_date else None,
        "inspection_start": min(visit).isoformat() if visit else None,
        "inspection_end": max(visit).isoformat() if visit else None,
    }


def _report(flat: str) -> dict | None:
    """A report's title page: council, kind, framework, dates, judgements."""
    top = flat[:2000]
    found = []
    for pattern, kind, framework in (
        (_SIF_TITLE, "inspection", "SIF"),
        (_EARLY_ILACS_TITLE, "inspection", "ILACS"),
        (_GENERIC_ILACS_TITLE, "inspection", "ILACS"),
        (_LAC_TITLE, "inspection", None),
        (_ILACS_TITLE, "inspection", "ILACS"),
        (_LSCB_TITLE, None, None),
    ):
        if (m := pattern.search(top)) is not None:
            found.append((m.start(), m, kind, framework))
    council = None
    if found:
        start, m, kind, framework = min(found, key=lambda f: f[0])
        if m.re is _ILACS_TITLE:
            council = m[1]
        elif m.re is _LAC_TITLE:
            rest = _INSPECTION_DATES.search(flat, m.end(), m.end() + 200)
            council = flat[m.end(): rest.start()] if rest else None
        else:
            council = flat[max(0, start - 100): start]
        if _tidy_council(council or "") is None and m.re is _LSCB_TITLE:
            council = None
    elif _SIF_TABLE.search(top):
        start, kind, framework = 0, "inspection", "SIF"
    else:
        return None
    name = _tidy_council(council) if council else None
    if name is None and (m := _CHILDRENS_SERVICES_IN.search(flat[:4000])):
        name = _tidy_council(m[1])
    dates: list[date] = []
    if (m := _INSPECTION_DATES.search(flat, start, start + 3000)) is not None:
        dates = _first_dates(flat[m.end(): m.end() + _DATE_WINDOW], full=True)
    published: list[date] = []
    if (m := _PUBLISHED.search(flat, start, start + 3000)) is not None:
        published = _first_dates(flat[m.end(): m.end() + 40], full=True)
    return {
        "council": name, "kind": kind, "framework": framework,
        "inspection_start": min(dates).isoformat() if dates else None,
        "inspection_end": max(dates).isoformat() if dates else None,
        "published": published[0].isoformat() if published else None,
        # An earlier framework's judgement is a page or two on, past the contents.
        "judgements": _judgements(flat[start: start + (5000 if framework else HEAD_CHARS)],
                                  framework) if kind else {},
    }


# -------------------------------------------------------------------------- judgements
_GRADE = (r" ?[.:]? ?(outstanding|good|inadequate|requires? improvement(?: to be good)?)"
          r"(?![a-z])")
_LABELS = {
    "impact_of_leaders": r"The impact of leaders on (?:social work )?practice with children "
                         r"and families",
    "help_and_protection": r"children who need help and protection",
    "children_in_care": r"The experiences and progress of children in care(?: and care "
                        r"leavers)?",
    "care_leavers": r"experiences and progress of (?:children )?care leavers",
    "looked_after_and_permanence": r"Children looked after and achieving permanence",
    "adoption": r"Adoption performance",
    "leadership": r"Leadership, management and governance",
    "lscb": r"(?:The judgement for )?the effectiveness of the Local Safeguarding Children "
            r"Board(?: \(LSCB\))? (?:is )?",
}
_JUDGEMENT_PATTERNS = {k: re.compile(v + _GRADE, re.I) for k, v in _LABELS.items()}
_ILACS_OVERALL = re.compile(r"Overall effectiveness" + _GRADE, re.I)
_SIF_OVERALL = (
    re.compile(r"Children's services in (?:the )?.{2,80}? (?:area )?(?:are|is|require|requires) "
               r"(outstanding|good|inadequate|(?:requires? )?improvement)(?: to be good)?"
               r"(?![a-z])", re.I),
    re.compile(r"The overall judgement is (?:that )?(?:children's services )?(?:are |is )?"
               r"(outstanding|good|inadequate|(?:requires? )?improvement)(?: to be good)?"
               r"(?![a-z])", re.I),
)


# The 2013 inspections of looked after children's services, graded on the earlier scale.
_LAC_OVERALL = re.compile(r"Overall effectiveness of services for looked after children "
                          r"and young people Grade \d \(?(outstanding|good|adequate|"
                          r"inadequate)(?![a-z])\)?", re.I)


def _grade(raw: str) -> str:
    low = raw.lower()
    return "requires improvement to be good" if "improvement" in low else low


def _judgements(table: str, framework: str | None) -> dict[str, str]:
    """The judgement table under a report's title: the first grade after each label."""
    out: dict[str, str] = {}
    for key, pattern in _JUDGEMENT_PATTERNS.items():
        if (m := pattern.search(table)) is not None:
            out[key] = _grade(m[1])
    overall = ([_ILACS_OVERALL] if framework == "ILACS" else
               [*_SIF_OVERALL, _ILACS_OVERALL] if framework == "SIF" else
               [_LAC_OVERALL, *_SIF_OVERALL, _ILACS_OVERALL])
    for pattern in overall:
        if (m := pattern.search(table)) is not None:
            out["overall_effectiveness"] = _grade(m[1])
            break
    return out


# ------------------------------------------------------------------------------ reader
def read_metadata(text: str) -> OfstedMeta:
    """Read a report's or letter's own heading into an `OfstedMeta`.

    Only the first `HEAD_CHARS` characters are read (the heading and judgement table are
    on the first page or two), so the cost does not grow with the document. A letter
    (a "Dear ..." line whose subject names a focused visit, monitoring visit or joint
    targeted area inspection) gives its date as `published` and its visit dates; a report
    gives its title page and judgement table. Anything else, including a news story that
    talks about an inspection, gives an empty `OfstedMeta`.
    """
    if not isinstance(text, str) or not text:
        return OfstedMeta()
    head = text[:HEAD_CHARS]
    flat = _flatten(head)
    lines = [s for line in head.translate(_PLAIN).split("\n") if (s := line.strip())]
    found = _letter(flat, lines) or _report(flat)
    if found is None:
        return OfstedMeta()
    return OfstedMeta(**found)


# ------------------------------------------------------------------- where it is stated
def _spaced(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The same pattern over text whose line breaks are kept: any run of whitespace
    where the pattern has a space."""
    source = pattern.pattern.replace(" ?", r"\s*").replace(" ", r"\s+")
    return re.compile(source, pattern.flags)


_STATED = {key: [_spaced(p)] for key, p in _JUDGEMENT_PATTERNS.items()}
_STATED["overall_effectiveness"] = [_spaced(p) for p in (_ILACS_OVERALL, *_SIF_OVERALL,
                                                         _LAC_OVERALL)]
_STATED_CHARS = 20_000


# A report states its judgements in its first chunks: the heading and judgement table of
# an ILACS report, the summary a page or two on in an SIF one, past the contents and the
# area's description in a 2013 inspection of looked after children (Sandwell's: its 16th).
JUDGEMENT_CHUNKS = 20


def stated_judgement(text: str, key: str, grade: str | None = None) -> tuple[int, int] | None:
    """Where a passage states a judgement ("Overall effectiveness Inadequate",
    "Children's services in Dudley ... are inadequate"), as a span of ``text``, so an
    answer can quote it verbatim; None when the passage does not state it. ``grade``:
    only a statement of that grade counts, so a report's own judgement is not taken
    from its account of the previous inspection's ("The judgements were: Overall
    effectiveness: inadequate")."""
    head = text[:_STATED_CHARS]
    plain = head.translate(str.maketrans({k: v for k, v in _PLAIN.items() if v != ""}))
    for pattern in _STATED.get(key, []):
        for m in pattern.finditer(plain):
            if grade is None or _grade(m[1]) == grade:
                return m.start(), m.end()
    return None
