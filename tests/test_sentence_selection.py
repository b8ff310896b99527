"""Choosing an answer's sentences from retrieved passages, without the model.

The embedding model is replaced by a stand-in (a bag of words hashed into a small
vector, normalised), so these tests pin down the selection rules themselves: which
sentences are kept, how they are grouped and cited, and when the answer declines. The
real model's choices are tested in test_retrieval.py and by `rag eval`.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from rag.answering import NOT_COVERED, Assistant, with_follow_on
from rag.config import load_settings
from rag.query import understand
from rag.records import DocumentRef, Passage


class BagOfWords:
    """Stand-in embedder: each lower-cased word adds 1 to one of 512 dimensions."""

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 512), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                out[row, zlib.crc32(word.encode()) % 512] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class NoIndex:
    """Stand-in index reader: no index, so no phrase of a question is rare in it, no
    passage has a chunk before or after it, and no acronym is defined."""

    def rare_pairs(self, pairs: list[str], share: float) -> list[str]:
        return []

    def next_passage(self, chunk_id: int, step: int = 1) -> None:
        return None

    def glossary(self) -> list[tuple[str, str]]:
        return []


class NoStoredVectors:
    """Stand-in retriever: the passages are given, none has stored sentence vectors."""

    embedder = BagOfWords()
    reader = NoIndex()

    def sentence_vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        return {}


REPORT = DocumentRef("2016.txt", "Inspection of children's services", "2016.txt", "2016-07-01",
                     "inspection report")
LETTER = DocumentRef("2017.txt", "Monitoring visit letter", "2017.txt", "2017-10-19",
                     "monitoring letter")


def passage(chunk_id: int, doc: DocumentRef, text: str, paragraph: int | None = None) -> Passage:
    return Passage(chunk_id=chunk_id, doc=doc, page=None, paragraph=paragraph, section=None,
                   text=text)


PASSAGES = [
    passage(1, REPORT, "Return home interviews are completed for a minority of children who "
            "go missing. Of those completed, two thirds take over 72 hours. Foster carers "
            "receive training in first aid each year.", paragraph=53),
    passage(2, LETTER, "Managers now check the quality of return home interviews every week.",
            paragraph=None),
]


def assistant() -> Assistant:
    return Assistant(load_settings(env={}), retriever=NoStoredVectors())


def lenient_assistant() -> Assistant:
    """One that declines nothing: the stand-in's cosines sit under the real threshold."""
    return Assistant(load_settings(env={}, min_relevance=0.0), retriever=NoStoredVectors())


def direct_quote(question: str, passages: list[Passage]) -> tuple[str, str]:
    """The quote a lenient answer opens with (the sentence that answers most directly),
    and the whole answer, for the assertion's message."""
    answer = lenient_assistant().extractive(understand(question), passages)
    return answer.blocks[0].lines[0].citations[0].quote, answer.answer


def test_the_sentences_about_the_subject_are_quoted_verbatim_and_cited() -> None:
    answer = assistant().extractive(
        understand("What did inspectors say about return home interviews?"), PASSAGES)
    assert not answer.abstained
    quotes = [c.quote for c in answer.citations]
    assert "Foster carers receive training in first aid each year." not in quotes
    for c in answer.citations:
        assert c.quote in c.passage.text  # verbatim from the passage it cites
        assert f"{c.quote} [{c.n}]" in answer.answer
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_a_sentence_that_refers_back_comes_with_the_one_it_continues() -> None:
    answer = assistant().extractive(
        understand("What did inspectors say about return home interviews?"), PASSAGES)
    quotes = [c.quote for c in answer.citations]
    continued = "Of those completed, two thirds take over 72 hours."
    assert continued in quotes
    first = "Return home interviews are completed for a minority of children who go missing."
    assert quotes.index(first) + 1 == quotes.index(continued)


def test_the_direct_finding_comes_first_then_the_rest_by_document_oldest_first() -> None:
    answer = assistant().extractive(
        understand("What did inspectors say about return home interviews?"), PASSAGES)
    direct, rest = answer.answer.split("\n\n")
    # The best sentence, with the one continuing it, under a short lead-in naming its
    # document; then the other findings as a list under their document's lead-in.
    assert direct == ("The inspection report (2016-07-01) says: Return home interviews are "
                      "completed for a minority of children who go missing. [1] Of those "
                      "completed, two thirds take over 72 hours. [2]")
    assert rest == ("The monitoring letter \u201cMonitoring visit letter\u201d (2017-10-19) "
                    "says:\n- Managers now check the quality of return home interviews every "
                    "week. [3]")
    dates = [c.doc.date for c in answer.citations]
    assert dates == sorted(dates)


def test_a_question_about_change_is_one_line_per_document_oldest_first() -> None:
    answer = assistant().extractive(
        understand("How have return home interviews changed since 2016?"), PASSAGES)
    lines = answer.answer.split("\n")
    assert len(lines) == 2 and all(line.startswith("- The ") for line in lines), lines
    assert lines[0].startswith("- The inspection report \u201cInspection of children's "
                               "services\u201d (2016-07-01) says: Return home interviews")
    assert lines[1].startswith("- The monitoring letter \u201cMonitoring visit letter\u201d "
                               "(2017-10-19) says: Managers now check")


def test_a_question_asking_for_a_number_no_sentence_gives_is_declined() -> None:
    no_figures = [passage(3, LETTER, "Managers check return home interviews every week. "
                          "Return home interviews are now offered to children who go missing.")]
    answer = assistant().extractive(
        understand("How many return home interviews were completed?"), no_figures)
    assert answer.abstained and answer.answer == NOT_COVERED
    assert "number" in (answer.notice or "")
    # The same question where a passage gives the figure is answered with it.
    answered = assistant().extractive(
        understand("How many return home interviews were completed?"), PASSAGES)
    assert not answered.abstained and "two thirds" in answered.answer


def test_nothing_close_enough_is_declined_with_the_closest_passages() -> None:
    answer = assistant().extractive(understand("What is the council's parking policy?"),
                                    PASSAGES)
    assert answer.abstained and answer.answer == NOT_COVERED
    assert answer.closest == PASSAGES[:3]


def test_headings_and_method_lines_state_no_finding() -> None:
    """Issue 19: headings and lines about what the inspection did were quoted because
    they share the question's words."""
    from rag.answering import states_no_finding

    for line in ["Child protection in this area", "Children looked after in this area",
                 "Previous Ofsted inspections",
                 "Inspectors have looked closely at the experiences of children and young "
                 "people who have needed or still need help and/or protection.",
                 "Inspectors particularly focused their activity on thresholds for "
                 "intervention, the quality of social work practice.",
                 "During the course of this visit, inspectors reviewed the progress made.",
                 "This letter summarises the findings of the monitoring visit to Birmingham "
                 "children's services on 19 and 20 September 2017.",
                 "The visit was the second monitoring visit since the local authority was "
                 "judged inadequate in November 2016.",
                 "Ofsted has today (Friday 19 October) published the findings of an "
                 "unannounced inspection into Birmingham City Council's children's services."]:
        assert states_no_finding(line), line
    # Findings, grades, figures and names, with or without a closing stop.
    for line in ["Children\u2019s services in Birmingham are inadequate",
                 "2.2 Experiences and progress of care leavers Requires improvement",
                 "there have been 153 adoptions",
                 "15 children became subject of special guardianship orders",
                 "Lead inspector: Peter McEntee",
                 "Inspectors found that services for children who have disabilities could be "
                 "better.",
                 "Inspectors also observed missed opportunities to consider children for "
                 "special guardianship orders."]:
        assert not states_no_finding(line), line
    # A question for a date or a name may be answered by a method line: only headings go.
    assert not states_no_finding("This letter summarises the findings of the monitoring "
                                 "visit on 19 and 20 September 2017.", method_too=False)


def test_the_subjects_telling_word_is_its_rarest_among_the_candidates() -> None:
    from rag.answering import telling_words

    candidates = ["Return home interviews are offered to a minority of children.",
                  "Plans for children who return home require improvement.",
                  "Children who return home are supported by the edge of care service.",
                  "Adoption is considered for children who cannot return home."]
    query = understand("What did inspectors say about return home interviews?")
    assert telling_words(query, candidates) == ["interviews"]
    # Words after a preposition qualify the subject; the document named is no part of it.
    query = understand("What did inspectors say about the quality of care plans at the fourth "
                       "monitoring visit?")
    assert telling_words(query, candidates) == []
    # A question that is not about findings on a subject keeps every candidate.
    assert telling_words(understand("How many adoptions were there?"), candidates) == []


def test_a_question_about_change_has_the_telling_word_of_what_changed() -> None:
    from rag.answering import telling_words

    candidates = ["Care leavers enjoy positive relationships with their personal advisers.",
                  "Too many care leavers are not in education, employment or training.",
                  "Care leavers are aware of their entitlements.",
                  "Each care leaver has a personal pathway plan."]
    query = understand("How did support from personal advisers for care leavers compare in "
                       "2016 and at the fifth monitoring visit?")
    assert query.changing == "support from personal advisers for care leavers"
    # The whole phrase, not "support" alone: "advisers" is its rarest word here.
    assert telling_words(query, candidates) == ["advisers"]
    for question, changing in (
            ("Has the quality of care plans improved since the 2016 inspection?",
             "the quality of care plans"),
            ("Did management oversight improve between the 2016 inspection and the 2017 "
             "visit?", "management oversight"),
            ("How has the use of special guardianship orders been viewed across the "
             "inspections?", "the use of special guardianship orders"),
            ("Did the inspectors visit in 2017?", None),
            ("How did the council respond to the 2012 inspection?", None)):
        assert understand(question).changing == changing, question


def test_a_question_asking_what_an_acronym_means_is_answered_by_its_definition() -> None:
    """"What is MASE?" is answered by the sentence that spells it out, not by every
    sentence that uses it; with no such sentence the usual choice runs."""
    passages = [
        passage(1, REPORT, "Inspectors identified delays of up to five months to escalate a "
                "case to MASE. The experiences of children discussed at a MASE meeting are a "
                "clear source of intelligence."),
        passage(2, REPORT, "Children at risk of child sexual exploitation are referred to the "
                "multi-agency child sexual exploitation (MASE) meeting."),
    ]
    # The stand-in's bag of words scores a two-word question low: no decline here.
    lenient = lenient_assistant()
    answer = lenient.extractive(understand("What is MASE?"), passages)
    assert [c.quote for c in answer.citations] == [
        "Children at risk of child sexual exploitation are referred to the multi-agency child "
        "sexual exploitation (MASE) meeting."]
    used = lenient.extractive(understand("What is MASE?"), passages[:1])
    assert not used.abstained and len(used.citations) == 2


def test_a_yes_or_no_question_gets_a_short_answer_without_method_lines() -> None:
    """"Are foster carers supported?" had five sentences sharing its words; three at most
    (a comparison keeps the longer answer), and no line about what inspectors looked at."""
    text = ("Foster carers are supported by their supervising social workers. "
            "Social workers visit foster carers every month. "
            "Foster carers say social workers answer calls quickly. "
            "Training for foster carers is arranged by social workers. "
            "New foster carers get a mentor as well as their social workers. "
            "Social workers support foster carers through placement endings.")
    passages = [passage(1, REPORT, "Inspectors have looked closely at the support foster "
                        "carers receive. " + text)]
    lenient = lenient_assistant()
    closed = lenient.extractive(understand("Are foster carers supported by social workers?"),
                                passages)
    assert 1 <= len(closed.citations) <= 3
    assert not any(c.quote.startswith("Inspectors have looked") for c in closed.citations)
    asked = lenient.extractive(understand("How are foster carers supported by social workers?"),
                               passages)
    assert len(asked.citations) > 3


def test_a_findings_detail_scores_with_the_finding_it_follows() -> None:
    first = passage(1, REPORT, "Inspectors found several positive areas of practice. "
                               "Arrangements were mostly stable.")
    other = passage(2, REPORT, "Caseloads are high. Turnover is low.")
    candidates = [(first, 0, 52), (first, 53, 84), (other, 0, 19), (other, 20, 36)]
    scores = np.array([0.8, 0.2, 0.5, 0.1])
    lifted = with_follow_on(scores, candidates, 0.7)
    # The detail after the finding rises to 0.7 of it; a sentence higher already stays;
    # the first sentence of a passage follows nothing (not the last of the passage before).
    assert np.allclose(lifted, [0.8, 0.56, 0.5, 0.35])
    assert np.allclose(with_follow_on(scores, candidates, 0.0), scores)


def test_a_count_question_is_answered_by_a_number_of_things_before_a_share() -> None:
    # "How many ... stayed?" shares more words with the paragraph's percentage; the
    # number of care leavers is the answer. A share still answers when it is all there is.
    stayed = [passage(6, REPORT, "A higher proportion of young people stayed with their "
                      "foster carers after their 18th birthday, at 73% against 68% "
                      "nationally. Currently 77 care leavers stay with their foster carers.")]
    question = understand("How many young people stayed with their foster carers after 18?")
    answer = assistant().extractive(question, stayed)
    assert not answer.abstained
    assert "77 care leavers" in answer.answer and "73%" not in answer.answer
    share_only = [passage(7, REPORT, "A higher proportion of young people stayed with their "
                          "foster carers after their 18th birthday, at 73% against 68% "
                          "nationally.")]
    assert "73%" in assistant().extractive(question, share_only).answer


def test_a_question_asking_for_an_average_is_answered_by_the_sentence_giving_one() -> None:
    caseloads = [passage(8, REPORT, "1,816 children are looked after and each child has an "
                         "independent reviewing officer. Independent reviewing officers now "
                         "carry an average of 68 children each.")]
    answer = assistant().extractive(understand(
        "On average, how many children does each independent reviewing officer look after?"),
        caseloads)
    assert not answer.abstained
    assert "68 children" in answer.answer and "1,816" not in answer.answer


def test_a_when_or_who_question_keeps_only_the_best_sentences_giving_a_date_or_a_name() -> None:
    # "The previous inspection ... was in March 2014" gives a date too, well under the one
    # asked for; a question asking both when and who keeps the best of each.
    letter = [passage(9, LETTER, "This letter summarises the findings of the monitoring visit "
                      "to children's services on 19 and 20 September 2017. The inspectors on "
                      "the monitoring visit were Peter McEntee HMI and Dominic Stevens HMI. "
                      "The previous inspection of children's services was in March 2014.")]
    lenient = lenient_assistant()
    when = lenient.extractive(understand(
        "When did the monitoring visit to children's services take place?"), letter)
    assert "19 and 20 September 2017" in when.answer and "March 2014" not in when.answer
    both = lenient.extractive(understand("When did the monitoring visit to children's services "
                                         "take place and who were the inspectors?"), letter)
    assert "September 2017" in both.answer and "Peter McEntee" in both.answer
    assert "March 2014" not in both.answer


def test_a_figure_naming_no_subject_is_read_and_quoted_with_the_sentences_before_it() -> None:
    # "At 46%, ..., this has not reduced": the 46% is of care leavers who are NEET, said in
    # the two sentences before it. Alone it is chosen for nothing and means nothing.
    neet = [passage(10, REPORT, "Currently 54% of care leavers known to the 18+ service are "
                    "in education, employment or training. Of real concern, however, is the "
                    "stubbornly high percentage of young people who are NEET. At 46%, higher "
                    "than the national average of 40%, this has not reduced since the last "
                    "inspection.")]
    answer = assistant().extractive(understand(
        "What proportion of care leavers known to the 18+ service are NEET?"), neet)
    assert not answer.abstained
    assert "46%" in answer.answer
    quotes = [c.quote for c in answer.citations]
    at = next(n for n, q in enumerate(quotes) if q.startswith("At 46%"))
    assert at > 0 and quotes[at - 1].startswith("Of real concern")


def test_a_when_and_who_question_takes_the_names_from_the_passage_giving_the_date() -> None:
    # "The inspectors were ..." shares no word with "the people from Ofsted": it scores
    # far under the sentences on the visit, but it is in the letter that dates the visit.
    letter = [passage(11, LETTER, "Ofsted came back to check on Birmingham children's "
                      "services on 19 and 20 September 2017. Ofsted checked the progress of "
                      "Birmingham children's services since the inspection. The inspectors "
                      "were Peter McEntee HMI and Dominic Stevens HMI.")]
    question = understand("When did the people from Ofsted come back to check on "
                          "Birmingham children's services, and what were their names?")
    assert question.asks_for == ("date", "name")
    answer = assistant().extractive(question, letter)
    assert "September 2017" in answer.answer and "Peter McEntee" in answer.answer


def test_a_share_or_a_wait_is_held_to_the_subject_the_sentence_before_it_names() -> None:
    # The paragraph names its subject ("court processes"), then gives the wait; the wait
    # for adoption says more of the question's words but is not what was asked.
    court = passage(12, REPORT, "The timeliness of court processes is improving. In 2015-16, "
                    "the average was 37 weeks for care applications, and from April to July "
                    "this had reduced to 27 weeks.")
    adoption = passage(13, REPORT, "Children wait an average of 200 days from entering care "
                       "to moving to their adoptive placement.")
    direct, answer = direct_quote(
        "How long were court cases to take children into care lasting in 2016?",
        [court, adoption])
    assert direct.endswith("reduced to 27 weeks."), answer


def test_a_list_item_is_read_with_the_paragraph_that_introduces_its_list() -> None:
    # "1,206 live with foster families" says neither the date nor that the children are
    # looked after: the sentences before its list do.
    looked_after = passage(14, REPORT, "At 31 August 2016, 1,816 children were being looked "
                           "after by the local authority. Of this number:\n- 752 live outside "
                           "the local authority area\n- 1,206 live with foster families\n- 91 "
                           "live with parents")
    private = passage(15, REPORT, "In 2016, 17 children lived with families in a privately "
                      "arranged fostering placement.")
    direct, answer = direct_quote("How many children in care were living with foster "
                                  "families at the end of August 2016?", [private, looked_after])
    assert direct == "1,206 live with foster families", answer


def test_the_month_a_figure_question_names_says_which_figure_answers() -> None:
    court = passage(16, REPORT, "Court work is improving. From April to July 2016 care "
                    "applications took 27 weeks on average.")
    adoption = passage(17, REPORT, "In 2016 it took an average of 200 days for a child to move "
                       "from care to an adoptive placement.")
    direct, answer = direct_quote("Between April and July 2016, how long on average did it "
                                  "take for a child's court case to finish?", [adoption, court])
    assert "27 weeks" in direct, answer


class PassagesIndex(NoIndex):
    """Stand-in index reader over the given passages: a phrase is rare in at most
    ``share`` of them, and in one at least (as `IndexReader.rare_pairs` counts chunks)."""

    def __init__(self, passages: list[Passage]) -> None:
        self.texts = [p.text.lower() for p in passages]

    def rare_pairs(self, pairs: list[str], share: float) -> list[str]:
        def found(pair: str) -> int:
            return sum(bool(re.search(rf"\b{re.escape(pair)}\b", t)) for t in self.texts)
        return [p for p in pairs if 0 < found(p) <= share * len(self.texts)]


def test_a_figure_given_beside_none_of_the_subjects_rarer_words_carries_a_notice() -> None:
    # "481 children" counts children, as asked, but not children who went missing: the
    # answer stands (the same check would decline as many right answers, worded
    # otherwise) and says which of the question's rarer words its figure is not beside.
    reviewed = passage(18, REPORT, "In 2016, 481 children have not had their plan reviewed "
                       "within required timescales.")
    interviews = passage(19, REPORT, "Return home interviews are completed for a minority of "
                         "children who go missing.")
    others = [passage(20 + n, REPORT, text) for n, text in enumerate([
        "Foster carers receive training each year.", "Managers check plans every month.",
        "Care leavers are supported well.", "Adoption is timely for most children.",
        "Social workers have manageable caseloads.", "Visits to children are regular.",
        "The board holds partners to account.", "Private fostering is well understood.",
        "Assessments are thorough.", "Early help is offered quickly."])]
    question = understand("How many children went missing from home or care in 2016?")

    def answer(passages: list[Passage]):  # noqa: ANN202
        retriever = NoStoredVectors()
        retriever.reader = PassagesIndex(passages)
        settings = load_settings(env={}, min_relevance=0.0, subject_word_share=0.2)
        return Assistant(settings, retriever=retriever).extractive(question, passages)

    flagged = answer([reviewed, interviews, *others])
    assert not flagged.abstained and "481 children" in flagged.answer, flagged.answer
    assert "\u201cmissing\u201d" in (flagged.notice or ""), flagged.notice
    # Where a sentence gives the figure beside "missing", it answers with no notice.
    went = passage(30, REPORT, "In 2016, 320 children went missing from care.")
    answered = answer([reviewed, interviews, went, *others])
    assert "320 children" in answered.answer and answered.notice is None, answered.answer
    # A notice only where there is a rarer word to check: an open question gets none.
    open_question = Assistant(load_settings(env={}, min_relevance=0.0, subject_word_share=0.2),
                              retriever=NoStoredVectors()).extractive(
        understand("What did inspectors say about children who go missing?"),
        [reviewed, interviews, *others])
    assert open_question.notice is None


class NextChunks(NoIndex):
    """Stand-in index reader: the given passages are one document's chunks, in order."""

    def __init__(self, passages: list[Passage]) -> None:
        self.order = passages

    def next_passage(self, chunk_id: int, step: int = 1) -> Passage | None:
        at = [p.chunk_id for p in self.order].index(chunk_id) + step
        return self.order[at] if 0 <= at < len(self.order) else None


def test_a_sentence_two_overlapping_chunks_hold_is_quoted_once() -> None:
    # The chunker overlaps chunks: the list's opening ends one chunk and starts the next.
    # It is the answer's subject in the question's own words, so no rarer word told the
    # two copies apart, and the next chunk's first "item" was the opening again.
    opening = "The proportion of children entitled to free school meals:"
    first = passage(40, REPORT, f"Approximately 37% of children live in poverty. {opening}")
    second = passage(41, REPORT, f"{opening}\n- in primary schools is 28.0%\n- in secondary "
                     "schools is 27.4%\nChildren looked after in this area")
    retriever = NoStoredVectors()
    retriever.reader = NextChunks([first, second])
    answer = Assistant(load_settings(env={}, min_relevance=0.0), retriever=retriever).extractive(
        understand("What is the proportion of children entitled to free school meals in "
                   "primary schools?"), [first, second])
    quotes = [c.quote for c in answer.citations]
    assert quotes.count(opening) == 1, answer.answer
    assert "in primary schools is 28.0%" in quotes, answer.answer
