"""Answer types: a question that asks for a figure needs a sentence that gives one."""

from __future__ import annotations

import pytest

from rag.figures import (
    Measure,
    asked_answer_types,
    asked_figure,
    asked_measure,
    counts_subject,
    gives_answer_type,
    gives_figure,
    gives_measure,
    gives_number_of,
    leans_back,
    measures_asked,
    names_counted,
    proper_words,
)


@pytest.mark.parametrize(("question", "kind"), [
    ("How many social workers left Birmingham children's services in 2016?", "number"),
    ("What proportion of care leavers were NEET?", "number"),
    ("What is the average caseload of an independent reviewing officer?", "number"),
    ("How much did the council spend on children's social care in 2016?", "money"),
    ("What is Birmingham's annual budget for free school meals?", "money"),
    ("What is the average salary of a social worker?", "money"),
    ("How much additional investment went into social work staffing?", "money"),
    ("How much is the 'golden hello' payment for new social workers?", "money"),
    # Judgements, not figures.
    ("How much progress has been made since the inspection?", None),
    ("What is the impact of funding cuts on early help?", None),
    ("What did inspectors say about return home interviews?", None),
    ("How often do social workers visit children looked after?", None),
])
def test_questions_that_ask_for_a_figure(question: str, kind: str | None) -> None:
    assert asked_figure(question) == kind


def test_dates_are_not_counts_but_counts_in_words_are() -> None:
    assert not gives_figure("This letter summarises the visit on 19 and 20 September 2017.",
                            "number")
    assert not gives_figure("In 2016, the service moved from education to children's services.",
                            "number")
    assert gives_figure("In 2014\u201315, 45 adopters were approved.", "number")
    assert gives_figure("Two thirds take over 72 hours.", "number")
    assert gives_figure("Interviews are completed for a minority of children.", "number")
    assert gives_figure("It was the fifth monitoring visit.", "number")


def test_money_needs_an_amount_of_money() -> None:
    assert gives_figure("Placements cost \u00a350 a day.", "money")
    assert gives_figure("The council spent 12.5 million on agency staff.", "money")
    assert not gives_figure("At 31 August 2016, 1,816 children were looked after.", "money")


@pytest.mark.parametrize(("question", "kind", "counted"), [
    ("How many adoptions were there in the 12 months before the 2016 inspection?", "count",
     ("adoptions",)),
    ("How many social workers left Birmingham children's services in 2016?", "count",
     ("social", "workers")),
    ("How many children and young people were receiving early help services?", "count",
     ("children",)),
    ("What share of care leavers is the council still in touch with?", "proportion",
     ("care", "leavers")),
    ("How long were care proceedings taking in the courts in 2016?", "duration", ()),
    ("How often were family members having contact with children?", "frequency", ()),
    ("How much did the council spend on agency staff?", "money", ()),
    # A possessive qualifies what is counted; it is not its noun.
    ("What percentage of Birmingham's children's social workers were agency staff?",
     "proportion", ("social", "workers")),
    # Weeks are counted to say how long: a duration, answered with a length of time.
    ("How many weeks on average were care applications taking in court?", "duration", ()),
    ("How long did matching with adopters take?", "duration", ()),
    # "How many of the ..." asks for a share as often as a count.
    ("How many of the care leavers does the council still see?", "proportion",
     ("care", "leavers")),
    # A rate named before the word "rate" is a proportion too.
    ("What was the social worker turnover rate in 2016?", "proportion", ()),
])
def test_the_measure_a_question_asks_for(question: str, kind: str,
                                         counted: tuple[str, ...]) -> None:
    assert asked_measure(question) == Measure(kind, counted)


def test_no_measure_in_a_question_about_findings() -> None:
    assert asked_measure("What did inspectors say about return home interviews?") is None


def test_a_count_of_what_is_asked_not_a_number_of_something_else_on_the_subject() -> None:
    adoptions = asked_measure("How many adoptions were there?")
    assert adoptions is not None
    assert counts_subject("there have been 153 adoptions", adoptions)
    assert not counts_subject("At the time of the inspection, 25 adopters were at stage 1.",
                              adoptions)
    assert not counts_subject("In the last 12 months, 34 plans for adoption have been changed.",
                              adoptions)
    # A count is not a proportion: "70% of children" does not say how many children.
    children = asked_measure("How many children were the subject of a child protection plan?")
    assert children is not None
    assert counts_subject("At 31 March 2017, 333 children and young people were the subject "
                          "of a child protection plan.", children)
    assert not counts_subject("70% of children are subject to a plan under this category.",
                              children)


def test_young_people_are_counted_as_children() -> None:
    # The reports count children as "young people" as often: "how many children were
    # missing education?" is answered by "109 young people ... currently missing".
    children = asked_measure("How many children were missing from school?")
    assert children is not None
    assert counts_subject("The data-set is now robust, with 109 young people at the time "
                          "of the inspection currently missing.", children)
    assert not counts_subject("Of the 109 people on the list, most were adults.", children)
    adopters = asked_measure("How many adopters were approved?")
    assert adopters is not None
    assert not counts_subject("There were 109 young people waiting.", adopters)


def test_each_kind_of_measure_needs_its_own_kind_of_figure() -> None:
    duration = Measure("duration")
    assert gives_measure("The average was 37 weeks for care applications.", duration)
    assert not gives_measure("In 2015\u201316 the authority reviewed all cases.", duration)
    # A period a figure is counted over is not how long something takes.
    assert not gives_measure("There have been two disruptions in the last three years.",
                             duration)
    proportion = Measure("proportion")
    assert gives_measure("The local authority is in touch with 97% of care leavers.", proportion)
    assert not gives_measure("1,816 children were being looked after.", proportion)
    # A rate is a share too: "64 per 10,000 children".
    assert gives_measure("1,816 children (a rate of 64 per 10,000 children).", proportion)
    # A length of time is not a count: "two years ago" does not say how many left.
    count = Measure("count")
    assert not gives_measure("Ofsted inspected children's services two years ago.", count)
    assert gives_measure("The data-set is now robust, with 109 young people missing.", count)


@pytest.mark.parametrize(("question", "kinds"), [
    ("When did the CWD service move to children's services?", ("date",)),
    ("Since when has Sandwell Children's Trust delivered children's services?", ("date",)),
    ("When did the 2017 monitoring visit take place and who were the inspectors?",
     ("date", "name")),
    ("Who delivers children's social care for West Northamptonshire?", ("name",)),
    ("Who's the chief executive of the trust?", ("name",)),
    ("Which HMI inspectors carried out the visit?", ("name",)),
    ("According to its 2022 inspection, when did the unitary authority come into being?",
     ("date",)),
    ("On what dates did the monitoring visit take place?", ("date",)),
    ("In which year was the service judged inadequate?", ("date",)),
    ("When did Ofsted come back, and what were their names?", ("date", "name")),
    # "who" and "when" that join a clause ask for neither.
    ("What happens when kids go missing from home or care?", ()),
    ("What did inspectors say about children who are looked after by family friends?", ()),
    ("What did inspectors say at the fifth visit about kids who will be in care for years?",
     ()),
    # Asking for a proper name outright.
    ("What is the name of the edge of care service?", ("named",)),
    ("Which local authority ran the service jointly with Dudley?", ("named",)),
    ("Which service was judged outstanding?", ()),
    ("What did inspectors say about what children call their names?", ()),
])
def test_a_question_asking_when_or_who(question: str, kinds: tuple[str, ...]) -> None:
    assert asked_answer_types(question) == kinds


def test_a_sentence_giving_a_date_or_a_name() -> None:
    assert gives_answer_type("In 2016, the CWD service moved from education.", "date")
    assert not gives_answer_type("Social workers have more time for children.", "date")
    assert gives_answer_type("The inspectors were Peter McEntee HMI and Dominic Stevens HMI.",
                             "name")
    # A sentence's own first word is capitalised for grammar, not a name.
    assert not gives_answer_type("Children benefit from regular reviews of their plans.",
                                 "name")


def test_a_proper_name_is_any_capitalised_word_but_the_first() -> None:
    assert proper_words("Services flourish through Gweres tus Yowynk, the edge of care "
                        "service.") == {"gweres", "yowynk"}
    assert proper_words("Joint funding with another local authority was agreed.") == set()


def test_a_count_of_a_thing_must_name_the_thing() -> None:
    exclusions = asked_measure("How many fixed-term exclusions were there in 2015-16?")
    assert exclusions == Measure("count", ("fixed", "term", "exclusions"))
    assert not names_counted("At 31 August 2016, 1,816 children were being looked after.",
                             exclusions)
    assert names_counted("There were 37 exclusions, down from 52.", exclusions)
    # People go by many names in the reports ("children", "young people", "care
    # leavers"): a count of them is not held to the question's word.
    kids = asked_measure("How many kids were in care?")
    assert kids is not None
    assert names_counted("At 31 August 2016, 1,816 children were being looked after.", kids)
    # Nor is "reports", the reports' own word: a person's "reports" are their "referrals".
    reports = asked_measure("How many reports about domestic violence were waiting?")
    assert reports is not None and reports.counted == ("reports",)
    assert names_counted("There were 401 referrals in a backlog.", reports)


def test_a_share_must_be_a_share_in_the_state_asked_about() -> None:
    # "What percentage of social workers were agency staff?" is not answered by the
    # share of social workers who received supervision.
    agency = asked_measure("What percentage of Birmingham's social workers were agency "
                           "staff at the 2016 inspection?")
    assert agency is not None and agency.counted == ("social", "workers")
    assert agency.state == ("agency",)  # people, years and the document say nothing of it
    assert not measures_asked("Between 1 April and 30 June 2016, 86% of social workers "
                            "received supervision at least monthly.", agency)
    assert measures_asked("Some 28% of social workers are agency staff.", agency)
    # Words of the state meet in other forms ("looking after", "looked after"), and the
    # council's name is no state.
    looked_after = asked_measure("What share of children was Croydon looking after?")
    assert looked_after is not None
    assert measures_asked("Croydon looked after 760 children, 48% of them from abroad.",
                        looked_after, frozenset({"croydon"}))
    assert not measures_asked("In Croydon, 48% of children are in good schools.", looked_after,
                            frozenset({"croydon"}))


def test_a_rate_named_by_its_word_is_a_share_in_that_word() -> None:
    vacancy = asked_measure("What was the social worker vacancy rate in 2016?")
    assert vacancy is not None and vacancy.kind == "proportion"
    assert vacancy.state == ("vacancy",)
    assert not measures_asked("Some 86% of social workers received supervision.", vacancy)
    assert measures_asked("The vacancy rate for social workers fell to 12%.", vacancy)
    # "The rate of ..." names no rate: what follows says what it is of.
    of = asked_measure("What was the rate of children looked after per 10,000 children?")
    assert of is not None and of.state == ()


def test_a_length_of_time_must_be_of_what_was_asked() -> None:
    wait = asked_measure("How many weeks were children waiting for a first appointment "
                         "with the mental health service?")
    assert wait is not None and wait.kind == "duration"
    assert wait.state == ("waiting", "first", "appointment", "mental", "health")
    assert not measures_asked("Delays in holding MASE meetings have been reduced to four "
                            "weeks.", wait)
    assert measures_asked("Children wait 18 weeks for a first appointment.", wait)


def test_a_word_of_what_is_asked_meets_its_other_forms_and_the_reports_terms() -> None:
    adopted = asked_measure("How long do kids wait to be adopted?")
    assert adopted is not None and adopted.state == ("wait", "adopted")
    assert measures_asked("The average time to an adoptive placement is 200 days.", adopted)
    chats = asked_measure("How quickly are chats with kids done?")
    assert chats is not None
    assert not measures_asked("Two thirds of interviews take over 72 hours.", chats)
    assert measures_asked("Two thirds of interviews take over 72 hours.", chats,
                        also=frozenset({"interviews"}))


def test_a_number_of_things_is_not_a_share_an_age_or_a_place_in_a_series() -> None:
    # What a count question prefers: "77 care leavers", not "73% against 68% nationally".
    assert gives_number_of("Currently 77 care leavers are choosing to stay.")
    assert gives_number_of("At 31 August 2016, 1,816 children were being looked after "
                           "(a rate of 64 per 10,000 children).")
    assert not gives_number_of("A higher proportion of young people are choosing to stay "
                               "until their 18th birthday, at 73% against 68% nationally.")
    assert not gives_number_of("Of those completed, two thirds take over 72 hours.")
    assert not gives_number_of("Only just under half of children aged 4 to 18 years old "
                               "attended their review in person in 2015\u201316.")
    assert not gives_number_of("Most 16 to 18 year-old care leavers are in education.")
    assert not gives_number_of("Approximately 37.1% of children live in poverty.")


def test_a_figure_whose_subject_is_a_pronoun_leans_on_the_sentence_before() -> None:
    assert leans_back("At 46%, higher than the national average of 40%, this has not "
                      "reduced significantly since the last inspection.")
    assert leans_back("At 94.7% it is now well above the London average (88%).")
    assert leans_back("At 38% (79), there has been some, but not sufficient, reduction.")
    # A figure that names what it measures stands alone.
    assert not leans_back("At 12.6%, the staff turnover rate is comparatively low, but it "
                          "is rising.")
    assert not leans_back("At 2%, the local authority's figure for turnover of staff was low.")
    assert not leans_back("At the time of the inspection, 29% of children remain on a plan, "
                          "and this is high.")

