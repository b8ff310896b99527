"""Whether a question asks for a figure, and whether a sentence gives one.

"How many social workers left in 2016?" is not answered by sentences about turnover
that give no number, however close they are to the question in meaning. Embedding
similarity cannot see that, so the answer type is checked on its own: a question that
asks for a count or a proportion needs a sentence with a number, and one that asks
for an amount of money needs a sentence with one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.words import (
    DOCUMENT_WORD,
    NON_SUBJECT_WORDS,
    PEOPLE_WORDS,
    SERVICE_WORDS,
    STOPWORDS,
    followed_within,
)

# "How many", "what proportion of", "what is the average ...": a number is the answer.
# "How much" alone is left out: "how much progress has been made?" asks for a judgement.
_ASKS_NUMBER = re.compile(
    r"\bhow\s+many\b|\bwhat\s+(?:(?:is|was|were|are)\s*)?(?:the\s+)?(?:percentage|proportion|"
    r"share|number|average|total|rate)\s+(?:of|for)?\b|\bwhat\s+(?:percentage|proportion)\b"
    r"|\bwhat\s+(?:is|was|were|are)\s+(?:the\s+)?(?:[\w\u2019'-]+\s+){1,3}rate\b", re.I)
_MONEY_WORDS = (r"(?:budgets?|spend|spent|spending|costs?|salary|salaries|wages?|funding|money|"
                r"paid|pay|payments?|earn|earns|earned|earnings|fees?|investment|prices?)\b")
# "How much did the council spend", "what is Birmingham's annual budget": the money word
# is what is asked for, not "what is the impact of funding cuts?".
# "How much ... <money word>" on one line is two patterns (words.followed_within: linear).
_HOW_MUCH = re.compile(r"\bhow\s+much\b", re.I)
_MONEY_WORD = re.compile(rf"\b{_MONEY_WORDS}", re.I)
_ASKS_MONEY = re.compile(rf"\bwhat\s+(?:is|was|are|were)\s+(?:\S+\s+){{0,2}}{_MONEY_WORDS}", re.I)

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
# Dates carry digits that are not counts: "19 and 20 September 2017", "2015-16".
_DATE = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s*(?:and|to|-|–)\s*\d{{1,2}}(?:st|nd|rd|th)?)?\s+{_MONTHS}"
    rf"\b|\b{_MONTHS}\s+\d{{1,2}}\b|\b(?:19|20)\d\d(?:\s*[-–/]\s*\d\d(?:\d\d)?)?\b", re.I)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
    r"thirty|forty|fifty|hundred|thousand|million|half|third|thirds|quarter|quarters|"
    r"dozen|first|second|fourth|fifth|sixth|seventh|eighth|ninth|tenth|twice|minority|majority)\b",
    re.I)
# An amount: "£" and a digit, or a number then a unit ("1.5 million", "£3m" either way).
# The number is read as the run of digits, commas and points it sits in, once: starting
# at every digit of the run was quadratic in a long one ("1.1.1...").
_POUND = re.compile(r"£\s?\d")
_FIGURE_RUN = re.compile(r"[\d,.]+")
_WORD_DIGIT = re.compile(r"\b\d")
_UNIT = re.compile(r"\s*(?:million|billion|m|bn|pounds)\b", re.I)


def _gives_money(sentence: str) -> bool:
    if _POUND.search(sentence):
        return True
    for run in _FIGURE_RUN.finditer(sentence):
        if _UNIT.match(sentence, run.end()) and _WORD_DIGIT.search(sentence, run.start(),
                                                                    run.end()):
            return True
    return False


def asked_figure(question: str) -> str | None:
    """"money", "number", or None when the question does not ask for a figure."""
    if _ASKS_MONEY.search(question) or followed_within(question, _HOW_MUCH, _MONEY_WORD, "\n"):
        return "money"
    if _ASKS_NUMBER.search(question):
        return "number"
    return None


def gives_figure(sentence: str, kind: str) -> bool:
    """Whether the sentence states a figure of that kind (dates are not counts)."""
    if kind == "money":
        return _gives_money(sentence)
    return bool(_NUMBER.search(_DATE.sub(" ", sentence)))


# ------------------------------------------------------------------------------ measures
#
# Which figure a question asks for decides which sentences answer it. "How many adoptions
# were there?" is answered by "there have been 153 adoptions", not by "25 adopters were at
# stage 1" nor "34 plans for adoption have been changed", though all three give a number
# on the subject and sit close to it in meaning. A measure is the kind of figure asked
# (a count, a proportion, a duration, a frequency, an amount of money) and, for a count
# or a proportion, the words of what is counted ("adoptions", "care leavers").

_MEASURE_KINDS = (
    ("money", None),  # asked_figure's reading, checked first
    ("proportion", re.compile(r"\bwhat\s+(?:(?:is|was|were|are)\s+)?(?:the\s+)?(?:percentage|"
                              r"proportion|share|rate)\b|\bwhat\s+(?:is|was|were|are)\s+"
                              r"(?:the\s+)?(?:[\w\u2019'-]+\s+){1,3}rate\b", re.I)),
    ("duration", re.compile(r"\bhow\s+(?:long|quickly|soon)\b|\baverage\s+(?:time|length|"
                            r"duration|wait)\b", re.I)),
    ("frequency", re.compile(r"\bhow\s+(?:often|frequently|regularly)\b", re.I)),
    # "How many of the care leavers ...?" asks for a share as often as a count.
    ("proportion", re.compile(r"\bhow\s+many\s+of\s+(?:the|these|those|our|its|their)\b",
                              re.I)),
    ("count", re.compile(r"\bhow\s+many\b|\bwhat\s+(?:(?:is|was|were|are)\s+)?(?:the\s+)?"
                         r"(?:number|average|total)\b", re.I)),
)
# What is counted: the words after "how many" or "what proportion of", up to the verb.
_COUNTED = re.compile(r"\b(?:how\s+many(?:\s+of\s+(?:the|these|those|our|its|their))?|"
                      r"(?:percentage|proportion|share|number|total)\s+of)\s+"
                      r"([\w\u2019'\s-]{0,80})", re.I)
# Where what is counted ends: a verb, a preposition, or "and" ("children and young
# people" counts children).
_COUNTED_ENDS = frozenset({
    "were", "was", "are", "is", "did", "do", "does", "have", "has", "had", "became", "become",
    "received", "receive", "chose", "choose", "in", "at", "on", "that", "who", "with", "to",
    "for", "per", "by", "from", "and", "or", "carried", "there", "the", "of", "still"})
# A share with its figure: "46%", "97 per cent", "64 per 10,000 children", "two thirds"
# (a sentence is short: no run of digits here is long enough to cost).
_SHARE = re.compile(r"\d[\d,.]*\s?%|(?:\b\d[\d,.]*\s?)?\bper\s?cent\b|\b\d[\d,.]*\s+per\s+"
                    r"\d[\d,]*|\b(?:(?:one|two|three|a|\d+)[\s-]+)?(?:half|thirds?|quarters?|"
                    r"majority|minority)\b", re.I)
# A proportion: a share, or "12 of the 20" (which is also a number of things).
_PERCENT = re.compile(rf"{_SHARE.pattern}|\b\d[\d,]*\s+(?:of|out\s+of)\s+(?:the\s+)?\d", re.I)
_TIME_UNIT = re.compile(
    r"(?:\d[\d,.]*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|a|an|few|several))[\s-]+(?:working\s+)?(?:days?|weeks?|months?|years?|"
    r"hours?|minutes?)\b", re.I)
# A period a figure is counted over is not how long something takes: "in the last three
# years", "over the past 12 months".
_PERIOD = re.compile(r"\b(?:in|over|during|for)\s+the\s+(?:last|past|previous|next|first)\s+"
                     r"(?:\S+\s+)?(?:days?|weeks?|months?|years?)\b", re.I)
_FREQUENCY = re.compile(
    r"\b(?:daily|weekly|fortnightly|monthly|quarterly|annually|yearly|once|twice|"
    r"times\s+(?:a|per|each|every)|every\s+\w+|per\s+(?:day|week|month|year))\b", re.I)


@dataclass(frozen=True)
class Measure:
    """The figure a question asks for: its kind, for a count or proportion the words of
    what is counted ("care leavers" in "what share of care leavers ..."), and for a
    proportion or a length of time what it is of (``state``)."""

    kind: str  # "count", "proportion", "duration", "frequency" or "money"
    counted: tuple[str, ...] = ()
    # For a proportion, the words saying what state the share is in ("agency" in "what
    # percentage of social workers were agency staff"); for a length of time, what takes
    # it ("waiting for a first appointment"). Read, not compared.
    state: tuple[str, ...] = field(default=(), compare=False)


def asked_measure(question: str) -> Measure | None:
    """The measure a question asks for, or None when it asks for none."""
    if asked_figure(question) == "money":
        return Measure("money")
    for kind, pattern in _MEASURE_KINDS[1:]:
        if pattern is not None and pattern.search(question):
            counted, state = (), ()
            if kind in ("count", "proportion") and (m := _COUNTED.search(question)):
                words: list[str] = []
                found = _WORD_OWNER.findall(m[1].lower())
                taken = 0  # words read, the one ending what is counted among them
                # "Birmingham's children's social workers": a possessive is a modifier.
                for word, owner in found[:4]:
                    taken += 1
                    if word in _COUNTED_ENDS:
                        break
                    if owner:
                        continue
                    words.append(word)
                    if _plural(word):  # "social workers left ...": the noun ends it
                        break
                counted = tuple(words)
                if counted and counted[-1] in _TIME_WORDS:  # "how many weeks ...": how long
                    kind, counted = "duration", ()
                else:
                    # The rest of the clause, not cut where the counted words' window ends.
                    clause = re.split(r"[?,;]", question[m.start(1):], maxsplit=1)[0].lower()
                    state = state_words([w for w, owner in _WORD_OWNER.findall(clause)[taken:]
                                    if not owner])
            if kind == "duration":
                # What takes the time: "waiting for a first appointment".
                state = state_words([w for w, owner in _WORD_OWNER.findall(question.lower())
                                if not owner and w not in _ASKING_WORDS])
            named = _NAMED_RATE.search(question) if kind == "proportion" else None
            if named and named[1].lower() not in STOPWORDS:
                # "The social worker vacancy rate" is a share in vacancy.
                state = (named[1].lower(),)
            return Measure(kind, counted, state)
    return None


def state_words(words: list[str]) -> tuple[str, ...]:
    """The words of a question saying what a share or a length of time is of, in order:
    not people in general, services, times, documents nor words that never name a
    subject. They say what any figure is of (rag.answering.unconfirmed_subject)."""
    return tuple(dict.fromkeys(
        w for w in words if len(w) > 2 and w not in STOPWORDS and w not in NON_SUBJECT_WORDS
        and w not in PEOPLE_WORDS and w not in SERVICE_WORDS and w not in _TIME_WORDS
        and not DOCUMENT_WORD.match(w)))


# The words that ask how long, not what takes the time.
_ASKING_WORDS = frozenset("how long many much quickly soon average typically usually".split())
# A rate named by the word before it: "the vacancy rate", "the reoffending rate".
_NAMED_RATE = re.compile(r"\bwhat\s+(?:is|was|were|are)\s+(?:the\s+)?(?:[\w\u2019'-]+\s+){0,2}"
                         r"([a-z][\w-]+)\s+rate\b", re.I)
_WORD_OWNER = re.compile(r"([a-z]+)([\u2019']s\b)?")
_TIME_WORDS = frozenset("days weeks months years hours minutes".split())


def _plural(word: str) -> bool:
    """Whether a word of what is counted reads as its plural noun, the head of the phrase
    ("workers" in "social workers left", "children" in "disabled children")."""
    return word in _PLURALS or (len(word) > 3 and word.endswith("s") and not word.endswith("ss"))


_PLURALS = frozenset({"children", "people", "staff", "women", "men"})


def _root(word: str) -> str:
    """A cruder root than ``_stem``, for verbs too: "looking" and "looked" meet, and
    "completed" and "complete"."""
    word = word.lower()
    for tail in ("ing", "ed", "es", "s", "e"):
        if word.endswith(tail) and len(word) - len(tail) >= 4:
            return word[: -len(tail)]
    return word


def _stem(word: str) -> str:
    """A crude common root, so "adoptions" meets "adoption" but not "adopters"."""
    word = word.lower()
    for tail in ("ies", "es", "s"):
        if word.endswith(tail) and len(word) - len(tail) >= 4:
            return word[: -len(tail)] + ("y" if tail == "ies" else "")
    return word


def gives_measure(sentence: str, measure: Measure) -> bool:
    """Whether the sentence states a figure of the measure's kind (dates are not counts)."""
    if measure.kind == "money":
        return _gives_money(sentence)
    undated = _DATE.sub(" ", sentence)
    if measure.kind == "proportion":
        return bool(_PERCENT.search(undated))
    if measure.kind == "duration":
        return bool(_TIME_UNIT.search(_PERIOD.sub(" ", undated)))
    if measure.kind == "frequency":
        return bool(_FREQUENCY.search(undated) or _TIME_UNIT.search(undated))
    # A count: a number that is not a length of time ("two years ago", "12 months") nor
    # a place in a series ("the fifth visit").
    return bool(_CARDINAL.search(_TIME_UNIT.sub(" ", undated)))


# An age or an age band is not a count: "aged 4 to 18", "16 to 18 year-olds" ("over 400
# children" is a count, "over 18" an age: "over" and "under" are left alone).
_AGE = re.compile(r"\b(?:aged|ages|age\s+of)\s+\d+(?:\s*(?:to|-|\u2013)\s*\d+)?"
                  r"|\b\d+\s*(?:to|-|\u2013)\s*\d+[\s-]*years?\b|\b\d+[\s-]*years?[\s-]*olds?\b",
                  re.I)
_ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.I)
_WHOLE_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                           r"twelve|twenty|thirty|forty|fifty|hundred|thousand|million|dozen)\b",
                           re.I)


def gives_number_of(sentence: str) -> bool:
    """Whether the sentence gives a number of things, not only a share of them.

    "How many care leavers stayed with their foster carers?" is answered by "77 care
    leavers choosing to extend their fostering arrangements", not by the paragraph's
    "73% against 68% nationally". A share still answers when no sentence gives a number
    ("less than half ... are interviewed"): this orders the answers, it declines none.
    """
    text = _TIME_UNIT.sub(" ", _AGE.sub(" ", _DATE.sub(" ", sentence)))
    text = _ORDINAL.sub(" ", _SHARE.sub(" ", text))
    return bool(_WHOLE_NUMBER.search(text))


# "At 46%, higher than the national average of 40%, this has not reduced": the figure
# opens the sentence and a pronoun stands for what it measures, named the sentence before
# ("... the stubbornly high percentage of young people who are NEET").
_LEANS_BACK = re.compile(
    r"At\s+(?:about\s+|around\s+|just\s+|nearly\s+|almost\s+)?\d[\d.,]*(?:\s?%|\s+per\s?cent)?"
    r"(?:\s*\([^)]*\))?(?:\s+|(?:,[^,]*)*?,\s*)(?:this|it|they|there)\s+(?:\w+\s+)?"
    r"(?:is|are|was|were|has|have|had|remains?|represents?|demonstrates?)\b", re.I)


def leans_back(sentence: str) -> bool:
    """Whether a sentence gives a figure whose subject is the sentence before it, so that
    it must be read (and chosen) with that sentence: alone it says 46% of nothing."""
    return bool(_LEANS_BACK.match(sentence))


def measures_asked(sentence: str, measure: Measure, ignore: frozenset[str] = frozenset(),
                 also: frozenset[str] = frozenset()) -> bool:
    """Whether a sentence giving a proportion or a length of time gives it for what was
    asked: "86% of social workers received supervision" does not say what share were
    agency staff, nor "MASE meetings ... four weeks" how long a first appointment takes.
    ``ignore``: words that say nothing of it (the council's name); ``also``: words that
    say it too (the reports' terms for the question's everyday words: "interviews" for
    "chats")."""
    # Five letters of the root: "adopted" meets "adoptive" and "adoption", as a person's
    # word meets the reports' ("kids waiting to be adopted", "adoptive placement").
    state = {_root(w)[:5] for w in (*measure.state, *also)} - {_root(w)[:5] for w in ignore}
    if measure.kind not in ("proportion", "duration") or not state:
        return True
    return bool(state & {_root(w)[:5] for w in re.findall(r"[A-Za-z]+", sentence)})


def names_counted(sentence: str, measure: Measure) -> bool:
    """Whether the sentence names what a count question counts, when that is a thing of
    its own ("exclusions", "foster carers", "beds"); always for people in general
    ("children", "kids", "staff"), whom the reports name in many ways."""
    if measure.kind != "count" or not measure.counted:
        return True
    head = _stem(measure.counted[-1])
    # "How many reports about domestic violence ...": "report" is the reports' own word
    # (rag.words.REPORT_WORDS); what a person calls a report they call a referral.
    if head in PEOPLE_WORDS or measure.counted[-1] in STOPWORDS:
        return True
    return head in {_stem(w) for w in re.findall(r"[A-Za-z]+", sentence)}


_CARDINAL = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                       r"twelve|twenty|thirty|forty|fifty|hundred|thousand|million|half|third|"
                       r"thirds|quarter|quarters|dozen|twice|minority|majority)\b", re.I)


# A number and the words right after it: "153 adoptions", "97% of care leavers", "4,500
# children and young people"; a preposition ends them ("34 plans for adoption").
_COUNT_THEN_WORDS = re.compile(
    r"(?:\d[\d,.]*\s?%?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"twenty|thirty|forty|fifty|hundred|half|third|thirds|quarter|majority|minority))"
    r"(?:\s+(?:per\s?cent\s+)?(?:of|out\s+of)(?:\s+(?:the|all|these|those))?)?"
    r"((?:\s+(?!(?:for|in|at|to|with|from|on|by|who|were|was|are|is|have|has)\b)"
    r"[A-Za-z\u2019'-]+){1,3})", re.I)


def _counted_words(text: str) -> set[str]:
    """The roots of the words after a number, "young people" as one."""
    found = {_stem(w) for w in re.findall(r"[A-Za-z]+", text)}
    return found | {"young people"} if re.search(r"\byoung\s+people\b", text, re.I) else found


def counts_subject(sentence: str, measure: Measure) -> bool:
    """Whether a number in the sentence counts what the question counts: "153 adoptions"
    for "how many adoptions", "97% of care leavers" for "what share of care leavers".

    The counted word must follow the number within a few words; a number of something
    else on the same subject ("25 adopters", "34 plans for adoption") does not count it.
    """
    if not measure.counted or measure.kind != "count":
        return False
    head = _stem(measure.counted[-1])
    # The reports count children as "young people" as often ("109 young people ...").
    heads = {head, "young people"} if head in {"child", "children"} else {head}
    undated = _DATE.sub(" ", sentence)
    return any(heads & _counted_words(m[1])
               and (measure.kind != "count" or "%" not in m.group() and "per cent" not in m[1])
               for m in _COUNT_THEN_WORDS.finditer(undated))


# ------------------------------------------------------------------ dates and names
#
# "When did the CWD service move to children's services?" is answered by the sentence
# with the date ("In 2016, the children with a disability service moved ..."), not by
# every sentence on the CWD service; "who were the inspectors?" by the one with names.

# "When did ...", "Since when has ...", "On what dates did ...", "In which year was ...",
# "..., and who were the inspectors?": the question word opens the question or a clause,
# before its verb ("kids who will be in care" and "what happens when kids go missing" ask
# neither).
_ASKS_DATE = re.compile(r"(?:^|[,;]\s*|\band\s+|\bsince\s+)(?:(?:on|in|by)\s+)?"
                        r"(?:when|(?:what|which)\s+(?:dates?|years?|months?))"
                        r"\s+(?:did|does|do|was|were|is|are|has|have|had|will)\b", re.I)
_ASKS_NAME = re.compile(r"(?:^|[,;]\s*|\band\s+)who(?:[\u2019']s\b|\s+(?:did|does|do|was|were|is|"
                        r"are|has|have|had|will|came|comes|[a-z]+s|[a-z]+ed)\b)"
                        # "..., and what were their names?": who, by the name.
                        r"|(?:^|[,;]\s*|\band\s+)what\s+(?:is|was|are|were)\s+"
                        r"(?:his|her|their)\s+names?\b"
                        # "Which HMI inspectors ...", "which councillor ...": who, by role.
                        r"|\bwhich\s+(?:\w+\s+)?(?:inspectors?|councillors?|directors?|"
                        r"officers?|managers?|chairs?|leaders?|members?|executives?)\b", re.I)
# "What is the name of ...", "which local authority ...": the answer is a proper name
# ("named"), which a sentence that names none cannot give.
_ASKS_NAMED = re.compile(r"\bwhat\s+(?:is|was|are|were)\s+(?:the\s+)?names?\s+of\b"
                         r"|\bwhich\s+(?:other\s+)?(?:local\s+authorit(?:y|ies)|councils?|"
                         r"organisations?|charit(?:y|ies)|compan(?:y|ies))\b", re.I)
# A name: two or more capitalised words ("Peter McEntee", "Northamptonshire Children's
# Trust", "Safeguarding Children Board") or an initialism, not counting the sentence's
# own first word.
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b(?:[A-Z][\w\u2019'-]+(?:\s+(?:of\s+|and\s+)?"
                   r"[A-Z][\w\u2019'-]+)+|[A-Z]{2,}\b)")


def asked_answer_types(question: str) -> tuple[str, ...]:
    """"date" and/or "name" when the question asks when or who, "named" when it asks for
    a proper name outright; () otherwise."""
    return tuple(kind for kind, pattern in (("date", _ASKS_DATE), ("name", _ASKS_NAME),
                                            ("named", _ASKS_NAMED))
                 if pattern.search(question))


def gives_answer_type(sentence: str, kind: str) -> bool:
    """Whether the sentence gives a date ("in 2016", "on 1 April 2019") or a name."""
    if kind == "date":
        return bool(_DATE.search(sentence))
    return bool(_NAME.search(sentence))


def proper_words(sentence: str) -> set[str]:
    """The capitalised words of a sentence but its first, lower-cased: where a proper name
    asked for outright may be ("Gweres tus Yowynk", "Leeds City Council"). Initialisms
    are left out: the reports' own shorthand ("BSCB", "MASH") names what every passage
    on the subject names."""
    return {w.lower() for w in _PROPER.findall(sentence)}


_PROPER = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z](?![A-Z\d]*\b)[\w\u2019'-]+")
