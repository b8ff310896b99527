"""The chat page. Thin: every decision is made in the rag package.

Answers come from rag.answering.Assistant; what a source, a document or a filter looks
like, and all escaping of text from documents and people, from rag.display; who may
change the library from rag.access, and every change goes through rag.editing (which
asks rag.access again, so a hidden control is never the only guard); how a document
entered, from rag.provenance; ratings go to rag.feedback; the export is
rag.conversation's. Sign-in is Streamlit's own (st.login, configured in
.streamlit/secrets.toml). This file only lays those out with Streamlit's elements.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable, Iterator

import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.runtime.uploaded_file_manager import UploadedFile

from rag import access, conversation, display, editing, feedback, provenance, store, uploads
from rag.answering import Assistant
from rag.config import Settings, load_settings
from rag.conversation import Turn
from rag.display import escape_inline
from rag.embedding import Embedder
from rag.indexing import sync
from rag.records import Filters
from rag.retrieval import Retriever

st.set_page_config(page_title="Inspection reports Q&A", page_icon=":material/description:",
                   layout="wide")
settings = load_settings()
state = st.session_state

ASSISTANTS_KEPT = 2  # settings seen by this process whose Assistant stays loaded
STREAM_DELAY_S = 0.03  # between answer sentences: progressive, not slow
DOCUMENT_HEIGHT_PX = 430  # the open document's scroll box; fits a 768-pixel-high screen
# Our own fixed script (no document or user text in it): scroll the open document so the
# highlighted passage, the container keyed "cited-passage", is in view.
SCROLL_TO_PASSAGE = """<script>
(function () {
  var tries = 0;
  function scrollParent(el) {
    for (var p = el.parentElement; p; p = p.parentElement) {
      var style = getComputedStyle(p);
      if (/(auto|scroll)/.test(style.overflowY) && p.scrollHeight > p.clientHeight) return p;
    }
    return null;
  }
  function go() {
    var el = document.querySelector('.st-key-cited-passage');
    var box = el && scrollParent(el);
    if (!box) { if (tries++ < 50) { setTimeout(go, 100); } return; }
    box.scrollTop += el.getBoundingClientRect().top - box.getBoundingClientRect().top - 12;
  }
  setTimeout(go, 50);
})();
</script>"""
# Our own fixed styles, for a laptop screen: less empty space above the title, and the
# documents filter's list wide enough to read whole titles, not just their first words.
PAGE_STYLE = """<style>
.block-container { padding-top: 2.2rem; padding-bottom: 1rem; }
[data-testid="stMultiSelectDropdown"] { width: min(34rem, 90vw) !important; }
[data-testid="stMultiSelectDropdown"] [role="listbox"] [role="presentation"] {
  width: 100% !important; }
</style>"""


# ------------------------------------------------------------------ heavy, loaded once

@st.cache_resource(show_spinner=False)
def load_embedder(model: str, batch_size: int, backend: str, cache_dir: str,
                  tuning: str) -> Embedder:
    """One embedding model per process; the weights load lazily, on first use."""
    return Embedder(model, batch_size, backend, cache_dir or None, tuning)


def settings_embedder(settings: Settings) -> Embedder:
    return load_embedder(settings.model, settings.batch_size, settings.embedding_backend,
                         settings.embedding_cache_dir, settings.model_tuning)


@st.cache_resource(show_spinner=False, max_entries=ASSISTANTS_KEPT)
def load_assistant(index_dir: str, settings_key: str) -> Assistant:
    """One Assistant per index folder and settings, shared by every session.

    Its IndexReader refreshes on every search when the index generation changes, so a
    document added by an upload is answerable without building a new one. Only a few
    are kept: each holds a database connection, and an old one must not linger.
    """
    embedder = settings_embedder(settings)
    return Assistant(settings, Retriever(settings, embedder=embedder))


def assistant() -> Assistant:
    """The shared Assistant for the index folder and settings this process runs with."""
    return load_assistant(str(settings.index_dir.resolve()), repr(settings))


def ensure_index() -> display.IndexOverview:
    """First start with no index builds it, with progress, instead of failing."""
    try:
        return display.index_overview(settings.index_dir)
    except store.IndexMissing:
        pass
    bar = st.progress(0.0, text="Building the index for the first time...")
    try:
        sync(settings, embedder=settings_embedder(settings),
             progress=progress_to(bar))
    except FileNotFoundError as exc:
        st.error(escape_inline(str(exc)))
        st.stop()
    bar.empty()
    return display.index_overview(settings.index_dir)


def progress_to(bar: DeltaGenerator) -> Callable[[str, int, int], None]:
    """A rag.indexing progress callback that moves a Streamlit progress bar."""
    def progress(label: str, done: int, total: int) -> None:
        text = f"Indexing {label} ({done + 1} of {total})" if label else "Saving the index..."
        bar.progress(min(1.0, done / max(total, 1)), text=escape_inline(text))
    return progress


# --------------------------------------------------------------------------- callbacks

def clear_conversation() -> None:
    state.turns = []


def save_feedback(turn: Turn) -> None:
    value = state.get(f"feedback-{turn.id}")
    feedback.record(feedback.feedback_path(settings.data_dir, settings.index_dir), turn.id,
                    turn.answer, feedback.rating_from_thumbs(value),
                    display.filters_json(turn.filters),
                    user=visitor.label if visitor.signed_in else None)


def add_files(files: list[UploadedFile], metadata: list[dict[str, str] | None]) -> None:
    """Save, index and log uploads with visible progress, then rerun to show the new
    index. rag.editing refuses anyone who is not an editor before anything is saved."""
    with st.status("Adding documents...", expanded=True) as box:
        bar = st.progress(0.0, text="Checking the files...")
        try:
            result = editing.add(settings, visitor, [(f.name, f.getvalue()) for f in files],
                                 metadata, embedder=assistant().retriever.embedder,
                                 progress=progress_to(bar))
        except access.NotAllowed as exc:
            box.update(label="Nothing added", state="error")
            state.upload_messages = [("error", str(exc))]
            return
        box.update(label="Documents added" if result.added else "Nothing added",
                   state="complete" if result.added else "error")
    messages = [("success", f"Added {s.name}. Ask about it now.") for s in result.added]
    messages += [("note", f"{s.original} was saved under a safe name.")
                 for s in result.added if s.renamed]
    messages += [("error", f"Not added: {why}") for _, why in result.rejected]
    state.upload_messages = messages
    state.uploader_round += 1  # a fresh, empty uploader
    st.rerun()


def withdraw(source: str) -> None:
    """Withdraw a document added through the page; rag.editing checks the visitor."""
    with st.spinner(f"Withdrawing {source}..."):
        try:
            done = editing.withdraw(settings, visitor, source,
                                    embedder=assistant().retriever.embedder)
        except (access.NotAllowed, editing.WithdrawError) as exc:
            state.upload_messages = [("error", str(exc))]
        else:
            state.upload_messages = [("success", f"Withdrew {done.source}: answers no longer "
                                      "cite it; the file is kept aside, not deleted.")]
    st.rerun()


def confirm_metadata(file: UploadedFile, n: int) -> dict[str, str] | None:
    """What was read from an upload, for the editor to confirm or correct; None (with
    the reason shown) when it cannot be read."""
    data = file.getvalue()
    key = hashlib.sha256(data).hexdigest()
    previews = state.setdefault("previews", {})
    if key not in previews:
        try:
            previews[key] = uploads.preview(file.name, data, int(settings.max_file_mb * 1e6))
        except uploads.UploadRejected as exc:
            previews[key] = str(exc)
    found = previews[key]
    if isinstance(found, str):
        st.error(escape_inline(found))
        return None
    prefix = f"meta-{state.uploader_round}-{n}"
    with st.container(border=True, key=f"{prefix}-box"):
        st.caption(escape_inline(f"{file.name}: read from its words. Check or correct "
                                 "before it is indexed and cited."))
        kinds = list(uploads.UPLOAD_KINDS)
        return {
            "title": st.text_input("Title", found["title"], key=f"{prefix}-title"),
            "date": st.text_input("Date (YYYY-MM-DD)", found["date"], key=f"{prefix}-date"),
            "kind": st.selectbox("Kind", kinds, key=f"{prefix}-kind",
                                 index=kinds.index(found["kind"])
                                 if found["kind"] in kinds else len(kinds) - 1),
            "publisher": st.text_input(
                "Publisher", found["publisher"], key=f"{prefix}-publisher",
                help="Read from the document's words, which do not prove who published "
                     "it: clear or correct it unless you know."),
        }


# ------------------------------------------------------------------------------ pieces

def sidebar(overview: display.IndexOverview,
            ) -> tuple[Filters, DeltaGenerator, dict[str, str]]:
    """Filters, conversation actions, index status and uploads.

    Returns the filters, a placeholder for the download button (filled at the end of
    the run, so the export includes the question just answered) and document titles.
    """
    with st.sidebar:
        account()
        st.header("Filters")
        councils = st.multiselect("Council", overview.councils, key="filter_councils",
                                  placeholder="All councils") if overview.councils else []
        kinds = st.multiselect("Kind of document", overview.kinds, key="filter_kinds",
                               placeholder="All kinds")
        span = overview.date_span
        dates: tuple = ()
        if span:
            dates = st.date_input(
                "Dated between", value=span, min_value=span[0], max_value=span[1],
                format="YYYY-MM-DD", key=f"filter_dates_{span[0]}_{span[1]}",
                help="Narrowing the dates leaves out undated documents (press articles).")
        titles = {d.doc_id: d.choice_label for d in overview.documents}
        doc_ids = st.multiselect("Documents", list(titles), format_func=titles.__getitem__,
                                 key="filter_docs", placeholder="All documents")
        filters = display.build_filters(kinds, dates, doc_ids, span, councils)

        st.header("Conversation")
        st.button("Clear conversation", on_click=clear_conversation,
                  icon=":material/delete_sweep:", width="stretch")
        download_slot = st.empty()

        st.header("Index")
        st.markdown("  \n".join(escape_inline(line) for line in overview.status_lines()))
        if st.button("Open the library", icon=":material/table_view:", width="stretch",
                     key="open_library"):
            show_library(overview)
        if access.may_edit(settings, visitor):
            edit_controls()
    return filters, download_slot, titles


def account() -> None:
    """Who is signed in and as what; or that the page is read-only, or open to all."""
    if sign_in:
        if visitor.signed_in:
            st.caption(escape_inline(f"Signed in as {visitor.label} "
                                     f"({access.role(settings, visitor)})"))
            if st.button("Sign out", icon=":material/logout:", key="sign_out"):
                st.logout()
        elif st.button("Sign in", icon=":material/login:", key="sign_in",
                       help="Editors sign in to add or withdraw documents"):
            st.login()
    if settings.open_uploads:
        st.warning("Uploads are open to everyone: anyone who can reach this page can add "
                   "and withdraw documents (setting open_uploads).",
                   icon=":material/lock_open:")
    elif not sign_in:
        st.caption("Read-only: no sign-in is configured, so documents are added by whoever "
                   "keeps the corpus folder.")


def edit_controls() -> None:
    """Adding documents (with their metadata confirmed) and withdrawing ones added here."""
    with st.expander("Add documents", icon=":material/upload_file:",
                     expanded=bool(state.upload_messages)):
        for kind, text in state.upload_messages:
            show = {"success": st.success, "error": st.error}.get(kind, st.caption)
            show(escape_inline(text))
        files = st.file_uploader(
            "PDF, TXT, MD or HTML", type=uploads.UPLOAD_TYPES, accept_multiple_files=True,
            key=f"uploader_{state.uploader_round}",
            max_upload_size=max(1, math.ceil(settings.max_file_mb)))
        metadata = [confirm_metadata(f, n) for n, f in enumerate(files or [])]
        if st.button("Add to the index", type="primary", disabled=not files,
                     key="add_files"):
            add_files(files, metadata)
    sources = editing.withdrawable(settings)
    if sources:
        with st.expander("Withdraw a document", icon=":material/remove_circle:"):
            choice = st.selectbox("Added through the page", sources, key="withdraw_choice",
                                  format_func=lambda s: f"{s} ({added.get(s, '')})")
            if st.button("Withdraw", key="withdraw", icon=":material/remove_circle:",
                         help="Out of the index and the corpus; the file is kept aside"):
                withdraw(choice)


@st.dialog("The library", width="large")
def show_library(overview: display.IndexOverview) -> None:
    """Every document: council, kind, dates and overall judgement, filtered by council
    and kind. A table widget shows document text as written, never as markup."""
    left, right = st.columns(2)
    councils = left.multiselect("Council", overview.councils, key="library_councils",
                                placeholder="All councils")
    kinds = right.multiselect("Kind", overview.kinds, key="library_kinds",
                              placeholder="All kinds")
    rows = overview.library_table(councils, kinds, added=added)
    st.caption(f"{len(rows)} of {len(overview.library)} documents")
    st.dataframe(rows, hide_index=True, width="stretch", key="library_table")


@st.dialog("Source document", width="large")
def show_document(ref: display.SourceRef) -> None:
    """The whole cleaned document, scrolled to the cited passage, quotes highlighted."""
    view = display.document_view(settings.index_dir, ref)
    if view is None:
        st.error("This document is no longer in the index.")
        return
    doc = view.doc
    st.markdown(f"**{escape_inline(doc.title)}**")
    st.caption(escape_inline(" · ".join(
        x for x in (doc.date or "undated", doc.kind, ref.place, doc.source,
                    added.get(doc.source)) if x)))
    before, passage, after = view.parts()
    with st.container(height=DOCUMENT_HEIGHT_PX, key="document-text"):
        if before:
            st.markdown(before)
        if passage:
            with st.container(border=True, key="cited-passage"):
                st.markdown(passage)
        if after:
            st.markdown(after)
    if view.passage is not None:
        st.html(SCROLL_TO_PASSAGE, unsafe_allow_javascript=True)
    else:
        st.caption("The cited passage was not found in the current text of this document.")


def slowly(pieces: Iterable[str]) -> Iterator[str]:
    """Yield the answer a sentence at a time, so it is seen being written."""
    for piece in pieces:
        yield piece
        time.sleep(STREAM_DELAY_S)


def show_answer(turn: Turn, titles: dict[str, str], stream: bool = False) -> None:
    """An answer (or a plain "not covered"), its sources in expanders, and a rating."""
    answer = turn.answer
    if answer.abstained:
        st.info(escape_inline(answer.answer), icon=":material/search_off:")
    elif stream:
        st.write_stream(slowly(display.answer_pieces(answer)))
    else:
        st.markdown(display.answer_markdown(answer))
    if answer.notice:
        st.warning(escape_inline(answer.notice))
    refs = display.sources_for(answer)
    scope = display.describe_filters(turn.filters, titles)
    heading = "Closest passages (they do not answer it)" if answer.abstained else "Sources"
    if refs or scope:
        st.caption(escape_inline(heading + (f"; searched only in {scope}" if scope else "")))
    for i, ref in enumerate(refs):
        note = added.get(ref.passage.doc.source)
        with st.expander(escape_inline(ref.heading + (f" · {note}" if note else ""))):
            st.markdown(ref.passage_markdown())
            if st.button(escape_inline(ref.open_label),
                         key=f"open-{turn.id}-{i}", icon=":material/open_in_new:"):
                show_document(ref)
    st.feedback("thumbs", key=f"feedback-{turn.id}", on_change=save_feedback, args=(turn,))


def show_turn(turn: Turn, titles: dict[str, str]) -> None:
    with st.chat_message("user"):
        st.markdown(display.escape_markdown(turn.question))
    with st.chat_message("assistant"):
        show_answer(turn, titles)


def ask(question: str, filters: Filters, titles: dict[str, str]) -> None:
    """Answer a new question with the earlier ones as history, and keep the turn."""
    with st.chat_message("user"):
        st.markdown(display.escape_markdown(question))
    with st.chat_message("assistant"):
        with st.spinner("Searching the reports..."):
            shared = assistant()
            try:
                answer = shared.answer(question, history=conversation.history(state.turns),
                                       filters=filters)
            finally:  # an idle page holding a snapshot would let the write-ahead log grow
                shared.retriever.reader.release()
        turn = Turn(question, answer, filters)
        show_answer(turn, titles, stream=True)
    state.turns.append(turn)


# -------------------------------------------------------------------------------- page

state.setdefault("turns", [])
state.setdefault("uploader_round", 0)
state.setdefault("upload_messages", [])
st.html(PAGE_STYLE)

user_info = st.user.to_dict()
sign_in = access.sign_in_configured(user_info)
visitor = access.visitor_from(user_info)
# How each document added through the page entered ("added through the page by X on
# DATE"), read from the provenance log once per run.
added = {source: p.note for source, p in provenance.lookup(settings).items()}

overview = ensure_index()
filters, download_slot, titles = sidebar(overview)

st.title("Inspection reports Q&A")
if not state.turns:
    st.caption("Ask about the Ofsted inspection reports, monitoring letters and press "
               "coverage in the index. Every sentence of an answer is quoted from a "
               "document and cited [n]; the sources are listed beneath it.")
for past in state.turns:
    show_turn(past, titles)
question = st.chat_input("Ask about the inspection reports",
                         max_chars=settings.max_question_chars)
if question:
    ask(question, filters, titles)

download_slot.download_button(
    "Download as Markdown", data=conversation.to_markdown(state.turns, titles=titles),
    file_name=conversation.export_name(), mime="text/markdown", on_click="ignore",
    icon=":material/download:", width="stretch", disabled=not state.turns, key="download")
