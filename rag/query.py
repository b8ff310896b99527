"""A question, understood once: what it asks, about what, in which documents, in which words.

Everything downstream needs some reading of the question: BM25 its subject words, the
model the whole question with acronyms spelled out, the scope checks its years, visits
and names, answering whether it asks for a figure or for findings. ``understand`` reads
it once, with the conversation so far and the index's acronyms, into a ``Query``;
retrieval, the scope checks and answering take that record and never parse the string
again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from rag.figures import Measure, asked_answer_types, asked_figure, asked_measure
from rag.glossary import expand_query, typed_acronyms, used_entries
from rag.ofsted import PLACE_TAILS, council_aliases, council_key
from rag.words import (
    NON_SUBJECT_WORDS,
    STOPWORDS,
    content_words,
    everyday_terms,
    followed_within,
    sentence_words,
)

_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
_DOCUMENT_YEAR = re.compile(
    r"\b((?:19|20)\d\d)(?:'s)?\s+(?:\w+\s+)?(?:re-?)?(?:inspection|visit|report|letter)"
    r"|\b(?:inspection|visit|report|letter)\w*\s+(?:in|of|from)\s+((?:19|20)\d\d)\b", re.I)
# A question about what happened around a document rather than in it: "since the 2016
# inspection", "across the 2016 inspection and the later visits", "how has it changed".
# "Looked after children" is not about time.
_OVER_TIME = re.compile(r"\b(?:since|(?<!looked\s)after|before|following|later|subsequent|"
                        r"previous|earlier|across|between|compared?|comparison|changed?|"
                        r"improved?)\b", re.I)
# A year the question measures from rather than asks about: "since the 2016 inspection",
# "changed since 2015, according to the 2017 inspection" (2017 is the source).
_REFERENCE_YEAR = re.compile(r"\b(?:since|(?<!looked\s)after|before|following|prior\s+to)"
                             r"(?:\s+[A-Za-z\u2019']+){0,4}?\s+((?:19|20)\d\d)\b", re.I)
# A question about Ofsted's judgements: "What was Dudley's overall effectiveness in
# 2016?", "Which councils were judged inadequate in 2016?".
_JUDGEMENT = re.compile(r"\b(?:judged|judgements?|judgments?|graded|grades?|rated|ratings?|"
                        r"overall\s+effectiveness)\b", re.I)
_GRADES = {"inadequate": "inadequate", "outstanding": "outstanding", "adequate": "adequate",
           "requires improvement": "requires improvement to be good", "good": "good"}
_GRADE_NAMED = re.compile(r"\b(inadequate|outstanding|adequate|requires\s+improvement|good)\b",
                          re.I)
_LISTING = re.compile(r"\bwhich\s+(?:councils?|local\s+authorit(?:y|ies)|areas?)\b", re.I)
_HOW_HAS = re.compile(r"\bhow\s+(?:has|have|did)\b", re.I)  # ... then "change" on its line
_CHANGE = re.compile(r"\bchange", re.I)
# Which judgement a question asks for, as rag.ofsted's keys, most likely first; the
# overall judgement when it names none.
_JUDGEMENT_KEYS = (
    (re.compile(r"\boverall\b", re.I), ("overall_effectiveness",)),
    (re.compile(r"help\s+and\s+protection", re.I), ("help_and_protection",)),
    (re.compile(r"care\s+leavers", re.I), ("care_leavers", "children_in_care")),
    (re.compile(r"children\s+in\s+care|looked\s+after|permanence", re.I),
     ("children_in_care", "looked_after_and_permanence")),
    (re.compile(r"\badoption\b", re.I), ("adoption",)),
    (re.compile(r"\bleaders|\bleadership|\bmanagement\b", re.I),
     ("impact_of_leaders", "leadership")),
)
# "the sixth monitoring visit": a document named by its place in a series.
_ORDINAL_DOCUMENT = re.compile(
    r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d{1,2}(?:st|nd|rd|th))"
    r"\s+(?:monitoring\s+|focused\s+)?(?:visit|inspection|letter)", re.I)
# "The last inspection", "its most recent focused visit": the newest such document of
# the council asked about. Not "since the last inspection", which asks about what came
# after it.
_LATEST_DOCUMENT = re.compile(
    r"(?<!since\s)(?<!after\s)(?<!before\s)\b(?:the|its|their|\w+['\u2019]s)\s+(?:last|latest|most\s+recent)"
    r"\s+(?:full\s+|ofsted\s+)?(inspection|focused\s+visit|monitoring\s+visit|visit|letter|"
    r"report)\b", re.I)
# The subject a question names: "what did inspectors say about <the use of restraint>?",
# "and what about <care leavers>?". It ends at the question mark or the previous
# question folded in by a follow-up ("... (What did ...)").
_SUBJECT = re.compile(r"\babout\s+([^?()]+)", re.I)
# What a question about change asks about: "How did <the application of thresholds>
# change between ...", "Did <management oversight> improve ...", "Has <the quality of care
# plans> improved since ...", "How has <the use of SGOs> been viewed across ...".
_CHANGING = re.compile(
    r"^\W*(?:how\s+(?:did|has|have|had)|did|has|have|had)\s+([^?()]+?)\s+(?:been\s+viewed|"
    r"changed?|improved?|developed?|compared?|progressed?|got\s+better|worsened?)\b", re.I)
# A capitalised word that does not open the question: a place, person or organisation.
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][a-z]{2,})\b")
# Words that point at documents rather than at the subject.
DOC_REFERENCE = re.compile(
    r"\b(?:(?:19|20)\d\d|(?:re-?)?inspections?|monitoring|visits?|letters?|reports?|"
    r"press releases?|ofsted|inspectors?|change[ds]?|between|since|improved?)\b", re.I)
# Words of the question's frame that BM25 would match in the wrong places: "find" in
# every "Headline findings" heading, "focused" in every letter's opening, the month of
# "the October 2021 focused visit" in its letterhead.
_SEARCH_FRAME = re.compile(
    r"\b(?:focused|find|finds|say|says|said|describe[ds]?|according|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december)(?=\s+(?:19|20)\d\d\s+(?:focused|monitoring|joint|full|inspection|visit|"
    r"report|letter)))\b", re.I)
# Words that name the letter, not what a sentence of it must state: "This letter
# summarises the findings of the focused visit to Leicester on 22 January 2019" shares
# them all and answers nothing; nor does "the inspection" in "at the time of its 2024
# inspection" (small and full library key facts 0.883 -> 0.892, dev answer precision
# 0.667 -> 0.675, nothing else moved).
_LETTER_WORDS = re.compile(r"\b(?:(?:19|20)\d\d|visits?|letters?|inspections?|focused|find|finds|"
                           r"describe[ds]?|according|january|february|march|april|may|june|"
                           r"july|august|september|october|november|december)\b", re.I)
# What follows a council's name and is still its name: "Dudley MBC", "Leicester City
# Council", "Birmingham Children's Trust".
_COUNCIL_TAIL = (r"(?:['\u2019]s)?(?:\s+(?:metropolitan|borough|city|county|district|council|"
                 r"mbc|children['\u2019]?s\s+trust|local\s+authority))*")

_FOLLOW_UP = re.compile(
    r"^(and|but|also|what about|how about|and what about|what of)\b|\b(they|them|it|this|that|"
    r"those|these|there|then)\b", re.I)
# "And what about care leavers?" (a new subject), not "what about for ..." (narrowing)
# nor "what about them?" (pointing back).
_NEW_SUBJECT = re.compile(
    r"^\W*(?:and\s+|but\s+)?(?:what|how)\s+about\s+(?!(?:for|in|at|with|among|during|"
    r"within|after|before|them|they|it|this|that|those|these|there|then)\b)\w", re.I)
# An open question asks for findings, not a fact: "what did inspectors say about ...",
# "how did thresholds change ...", "how well does ...". It gets a longer answer.
# "What did ... say" and "how did ... change" are each two patterns, the second after the
# first within the sentence (words.followed_within: linear in a long pasted question).
_OPEN_PHRASE = re.compile(r"\b(?:how\s+well\b|how\s+good\b|what\s+(?:happens|help)\b)", re.I)
_OPEN_WHAT = re.compile(r"\bwhat\s+(?:did|does|do|has|have|was|were)\b", re.I)
_OPEN_WHAT_VERB = re.compile(r"\b(?:say|said|find|found|think|report|view|viewed)\b", re.I)
_OPEN_HOW = re.compile(r"\bhow\s+(?:did|has|have|had)\b", re.I)
_OPEN_HOW_VERB = re.compile(
    r"\b(?:change|changed|improve|improved|develop|developed|viewed|compare|respond|"
    r"responded)\b", re.I)


def open_question(question: str) -> bool:
    """Whether the question asks for findings rather than a fact."""
    return bool(_OPEN_PHRASE.search(question)) or followed_within(
        question, _OPEN_WHAT, _OPEN_WHAT_VERB, "?") or followed_within(
        question, _OPEN_HOW, _OPEN_HOW_VERB, "?")
# "What did inspectors say about ...": every passage is a report by inspectors.
_FRAME = re.compile(
    r"\bwhat\s+(?:did|does|do|has|have|had)\s+(?:the\s+)?(?:\S+\s+){0,3}?(?:say|said|find|"
    r"found|think|report|conclude)\b(?:\s+about)?", re.I)


class Lexicon(Protocol):
    """What reading a question needs from the index: its acronyms and its words."""

    def glossary(self) -> list[tuple[str, str]]: ...

    def spelled(self, acronym: str) -> str | None: ...

    def councils(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Acronym:
    """An acronym the question uses and the phrase it stands for.

    ``spelled``: read from the initials of phrases in the passages because the reports
    never write it ("CSE" as "child sexual exploitation"), so the answer says so; the
    others are defined by the reports themselves ("return home interviews (RHIs)").
    """

    short: str
    long: str
    spelled: bool = False


@dataclass(frozen=True)
class Ordinal:
    """A document named by its place in a series: "fourth monitoring visit"."""

    phrase: str  # "fourth monitoring visit", lower case, single spaces
    ordinal: str  # "fourth"
    noun: str  # "visit"


@dataclass(frozen=True)
class JudgementAsk:
    """A question about Ofsted's judgements of a council's services."""

    keys: tuple[str, ...]  # rag.ofsted judgement keys, the first a document has is used
    grade: str | None = None  # "which councils were judged inadequate": only that grade
    listing: bool = False  # asks for several rows (which councils; how it has changed)
    # Asks for nothing but a judgement it names ("What grade did services for care
    # leavers get in 2016?"): the judgement rows are the whole answer.
    alone: bool = False


def asked_judgement(text: str) -> JudgementAsk | None:
    if not _JUDGEMENT.search(text):
        return None
    named_keys = next((k for pattern, k in _JUDGEMENT_KEYS if pattern.search(text)), None)
    keys = named_keys or ("overall_effectiveness",)
    listing = bool(_LISTING.search(text)) or followed_within(text, _HOW_HAS, _CHANGE, "\n")
    named = _GRADE_NAMED.search(text) if listing else None
    grade = _GRADES[" ".join(named[1].lower().split())] if named else None
    alone = named_keys is not None and not (listing or _SECOND_ASK.search(text)
                                            or _OVER_TIME.search(text))
    return JudgementAsk(keys, grade, listing, alone)


# A second question asked in the same breath: "..., and which service still fell short?"
_SECOND_ASK = re.compile(r"\b(?:and|but)\s+(?:which|what|how|why|who|where|when|whether|did|"
                         r"does|do|is|are|was|were|has|have)\b|;", re.I)
# "What does MASH stand for?", "What is an IRO?": the answer is the reports' definition.
_DEFINITION = re.compile(r"^\s*[Ww]hat\s+(?:(?:does|do)\s+(?:an?\s+|the\s+)?([A-Z]{2,})s?\s+"
                         r"stand\s+for|(?:is|are)\s+(?:an?\s+|the\s+)?([A-Z]{2,})s?)\s*\??\s*$")


def defined_acronym(question: str) -> str | None:
    """The acronym a question asks only the meaning of, or None."""
    m = _DEFINITION.match(question)
    return (m[1] or m[2]) if m else None


@dataclass(frozen=True)
class Query:
    """One question as every stage needs it, read once."""

    asked: str  # as the person typed it
    text: str  # as understood with the conversation (``contextualise``)
    bm25_text: str  # the subject, acronyms expanded both ways
    dense_text: str  # the whole question, acronyms expanded both ways
    acronyms: tuple[Acronym, ...] = ()  # those the question uses, either form
    subject: str | None = None  # "the use of restraint" in "what ... about the use of ...?"
    changing: str | None = None  # "the quality of care plans" in "has the quality of ... improved?"
    subject_words: tuple[str, ...] = ()  # its words that must appear in some passage
    # Everyday phrases it uses and the reports' terms for them ("run away": "missing")
    everyday: tuple[tuple[str, tuple[str, ...]], ...] = ()
    years: tuple[str, ...] = ()  # every year named
    document_years: tuple[str, ...] = ()  # years tied to a document ("the 2019 inspection")
    reference_years: tuple[str, ...] = ()  # years it measures from ("since the 2016 inspection")
    over_time: bool = False  # asks about change or what came before or after a document
    ordinals: tuple[Ordinal, ...] = ()
    latest: str | None = None  # "inspection" in "the last inspection", "focused visit", ...
    names: tuple[str, ...] = ()  # capitalised names: places, people, organisations
    councils: tuple[str, ...] = ()  # keys of the library's councils it names (or follows up)
    figure: str | None = None  # "number", "money" or None (rag.figures)
    measure: Measure | None = None  # which figure, of what: chooses the sentences (rag.figures)
    open: bool = False  # asks for findings rather than one fact: a longer answer
    judgement: JudgementAsk | None = None  # asks for Ofsted's judgement (rag.judgements)
    defines: str | None = None  # the acronym it asks only the meaning of ("what is MASE?")
    asks_for: tuple[str, ...] = ()  # "date", "name": asks when or who (rag.figures)
    asked_words: frozenset[str] = frozenset()  # words a sentence shares to state it
    council_words: frozenset[str] = frozenset()  # of those, the named councils' (a filter)

    @property
    def source_years(self) -> tuple[str, ...]:
        """The years of the only documents it asks about: "the 2017 inspection" in "what
        had changed since 2015, according to the 2017 inspection?"; none in "since the
        2016 inspection", nor in a question about change that does not say from when
        ("across the 2016 inspection and the later visits"), which asks about others too."""
        if self.over_time and not self.reference_years:
            return ()
        return tuple(y for y in self.document_years if y not in self.reference_years)

    @property
    def spelled(self) -> list[Acronym]:
        return [a for a in self.acronyms if a.spelled]


def understand(question: str, history: Sequence[str] = (),
               lexicon: Lexicon | None = None) -> Query:
    """Read a question once, in the context of the conversation and the index's words.

    Without a ``lexicon`` no acronym is expanded: the pure reading of the words.
    """
    text = contextualise(question, history)
    known = lexicon.councils() if lexicon is not None else {}
    councils = named_councils(text, known)
    if not councils and history and text != question:
        # A follow-up stays with the council the conversation has been about.
        councils = next((c for past in reversed(history) if (c := named_councils(past, known))),
                        ())
    glossary = lexicon.glossary() if lexicon is not None else []
    spelled = _spelled_acronyms(text, glossary, lexicon) if lexicon is not None else []
    pairs = glossary + [(a.short, a.long) for a in spelled]
    # A council named is the search's filter (rag.scope): BM25 looks for the subject alone;
    # the embedding keeps the name ("the chief executive of Sandwell Children's Trust").
    searched = without_councils(text, [known[c] for c in councils if c in known]) or text
    dense_text = expand_query(text, pairs)
    subject = m[1] if (m := _SUBJECT.search(text)) else None
    forms = {form for short, _ in pairs for form in (short.lower(), short.lower() + "s")}
    # Everyday words ("kids who run away") searched for in the reports' terms too
    # ("missing"), as acronyms are: BM25 shares no word with them, and the model reads
    # the reports' term closer to the passages that use it.
    everyday = everyday_terms(text)
    terms = list(dict.fromkeys(t for _, ts in everyday for t in ts))
    bm25_text = " ".join([expand_query(topic_of(searched), pairs), *terms])
    dense_text = " ".join([dense_text, *terms])
    return Query(
        asked=question,
        text=text,
        bm25_text=bm25_text,
        dense_text=dense_text,
        everyday=tuple(everyday),
        acronyms=tuple([*(Acronym(s, lg) for s, lg in used_entries(text, glossary)), *spelled]),
        subject=subject,
        changing=m[1] if (m := _CHANGING.search(text)) and _OVER_TIME.search(text) else None,
        subject_words=tuple(w for w in dict.fromkeys(re.findall(r"[a-z]{3,}", subject.lower()))
                            if w not in STOPWORDS and w not in forms
                            and w not in NON_SUBJECT_WORDS) if subject else (),
        years=tuple(dict.fromkeys(_YEAR.findall(text))),
        document_years=tuple(dict.fromkeys(m[1] or m[2] for m in _DOCUMENT_YEAR.finditer(text))),
        reference_years=tuple(dict.fromkeys(m[1] for m in _REFERENCE_YEAR.finditer(text))),
        over_time=bool(_OVER_TIME.search(text)),
        ordinals=tuple(Ordinal(" ".join(m.group().lower().split()), m[1].lower(),
                               m.group().lower().split()[-1])
                       for m in _ORDINAL_DOCUMENT.finditer(text)),
        latest=" ".join(m[1].lower().split()) if (m := _LATEST_DOCUMENT.search(text)) else None,
        names=tuple(n for n in dict.fromkeys(_NAME.findall(text)) if n.lower() not in STOPWORDS),
        councils=councils,
        figure=asked_figure(question),
        measure=asked_measure(question),
        # "And what about care leavers?" after "What did the 2016 inspection say about the
        # MASH?" asks what the previous question asked, of a new subject.
        open=open_question(question) or (text != question and open_question(history[-1])),
        judgement=asked_judgement(text),
        defines=defined_acronym(question),
        asks_for=asked_answer_types(question),
        # A sentence states what is asked in the reports' term ("missing"), not the
        # everyday one; the first term of each, so coverage is not diluted by all of them.
        asked_words=frozenset(asked_words(" ".join([
            expand_query(_LETTER_WORDS.sub(" ", text), pairs),
            *dict.fromkeys(ts[0] for _, ts in everyday)]))),
        council_words=frozenset(sentence_words(" ".join(known[c] for c in councils if c in known))),
    )


def _spelled_acronyms(text: str, glossary: list[tuple[str, str]],
                      lexicon: Lexicon) -> list[Acronym]:
    """The question's acronyms the index never writes, spelled out from initials.

    Staff write "CSE"; these reports never do, and never define it, but write "child
    sexual exploitation" 18 times. Such an acronym is spelled out from the passages
    whose words start with its letters (``glossary.spell_out``, through the lexicon).
    """
    known = {short for short, _ in glossary}
    return [Acronym(acronym, phrase, spelled=True) for acronym in typed_acronyms(text)
            if acronym not in known and (phrase := lexicon.spelled(acronym))]


_TOKEN = re.compile(r"[A-Za-z0-9]+")
_POSSESSIVE = re.compile(r"['\u2019]s\b")


@lru_cache(maxsize=4096)
def _written_forms(name: str) -> tuple[tuple[str, ...], ...]:
    """The word sequences a council may be written as: its key ("sandwell"), the leading
    words of a long name ("newcastle" for Newcastle upon Tyne) and its initialisms ("bcp")."""
    key = council_key(name).split()
    forms = {tuple(a.split()) for a in council_aliases(name)}
    for i, word in enumerate(key[1:], start=1):
        if word in PLACE_TAILS:
            forms.add(tuple(key[:i]))
            break
    return tuple(sorted(f for f in forms if f))


def named_councils(text: str, councils: dict[str, str]) -> tuple[str, ...]:
    """Keys of the councils (key -> name) that the text names, in the order named.

    A name counts when written with a capital ("Reading", not "reading"), an initialism
    when written in capitals ("BCP"); "Sandwell Children's Trust" and "Sandwell's" name
    Sandwell. The forms are made from each council's own name (rag.ofsted), not listed.
    """
    text = _POSSESSIVE.sub("", text).replace("\u2019", "").replace("'", "").replace("&", " and ")
    tokens = _TOKEN.findall(text)
    lower = [t.lower() for t in tokens]
    found: dict[str, int] = {}
    for key, name in councils.items():
        for form in _written_forms(name):
            initialism = len(form) == 1 and form[0] not in council_key(name).split()
            for i in range(len(lower) - len(form) + 1):
                if tuple(lower[i:i + len(form)]) != form:
                    continue
                first = tokens[i]
                if lower[i + len(form): i + len(form) + 2] == ["borough", "of"]:
                    continue  # "London Borough of Croydon" names Croydon, not the City
                if (first.isupper() and len(first) >= 3) if initialism else first[0].isupper():
                    found[key] = min(found.get(key, i), i)
    return tuple(sorted(found, key=found.get))


def without_councils(text: str, names: Sequence[str]) -> str:
    """The text without the councils it names, once those are the search's filter.

    Every passage searched is then that council's, so its name only favours the
    passages that write it: letterheads, addresses and the opening lines, not findings.
    """
    for name in names:
        for form in _written_forms(name):
            pattern = r"\b" + r"[\s'\u2019,.-]+".join(map(re.escape, form)) + _COUNCIL_TAIL + r"\b"
            text = re.sub(pattern, lambda m: " " if m.group()[0].isupper() else m.group(),
                          text, flags=re.I)
    return " ".join(text.split())


def topic_of(question: str) -> str:
    """The question without the words that point at documents rather than the subject.

    "How did thresholds change between the 2016 inspection and the 2017 monitoring
    visit?" is about thresholds; the years already choose the documents (scope), and
    "inspection", "visit", "report" occur in every passage, so they only add noise to
    BM25. Falls back to the question if nothing is left.
    """
    topic = " ".join(DOC_REFERENCE.sub(" ", _SEARCH_FRAME.sub(" ", question)).split())
    left = [w for w in re.findall(r"\w+", topic.lower()) if w not in STOPWORDS]
    return topic if left else question


def asked_words(question: str) -> set[str]:
    """The words a sentence must share to state what the question asks about.

    "Inspectors", "Ofsted" and "report" are noise in "what did inspectors say about
    X?" (every passage is a report by inspectors), so that frame is dropped; anywhere
    else they are the subject ("who were the inspectors?") and count.
    """
    return sentence_words(_FRAME.sub(" ", question))


def contextualise(question: str, history: Sequence[str] = ()) -> str:
    """Fold the previous question into a follow-up ("and what about care leavers?").

    A question that is short or points back ("they", "that", "and what about") is read
    together with the last question asked; a full new question stands on its own.
    "What about X?" asks the same of a new subject: after "What did the 2016 inspection
    say about the MASH?" only the documents carry over ("2016 inspection"), or the MASH
    would crowd out care leavers. "What about for X?" narrows the old subject instead,
    so the whole previous question stays.
    """
    if not history:
        return question
    short = len(content_words(question)) <= 3
    if not (short or _FOLLOW_UP.search(question)):
        return question
    if _NEW_SUBJECT.match(question):
        documents = " ".join(m.group() for m in DOC_REFERENCE.finditer(history[-1]))
        return f"{question} ({documents})" if documents else question
    return f"{question} ({history[-1]})"
