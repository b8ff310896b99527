"""Whether a question asks for a figure, and whether a sentence gives one.

"How many social workers left in 2016?" is not answered by sentences about turnover
that give no number, however close they are to the question in meaning. Embedding
similarity cannot see that, so the answer type is checked on its own: a question that
asks for a count or a proportion needs a sentence with a number, and one that asks
for an amount of money needs a sentence with one.
"""

from __future__ import annotations

import re

from rag.words import followed_within

# "How many", "what proportion of", "what is the average ...": a number is the answer.
# "How much" alone is left out: "how much progress has been made?" asks for a judgement.
_ASKS_NUMBER = re.compile(
    r"\bhow\s+many\b|\bwhat\s+(?:(?:is|was|were|are)\s*)?(?:the\s+)?(?:percentage|proportion|"
    r"share|number|average|total|rate)\s+(?:of|for)?\b|\bwhat\s+(?:percentage|proportion)\b",
    re.I)
_MONEY_WORDS = (r"(?:budgets?|spend|spent|spending|costs?|salary|salaries|wages?|funding|money|"
                r"paid|pay|earn|earns|earned|earnings|fees?)\b")
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

