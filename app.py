"""The chat page. Thin: every decision is made in the rag package."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from rag import store
from rag.config import load_settings
from rag.indexing import sync

st.set_page_config(page_title="Inspection reports Q&A", layout="wide")
settings = load_settings()


@st.cache_resource
def retriever_for(index_dir: str):  # noqa: ANN201 - a Retriever, imported lazily
    from rag.retrieval import Retriever

    return Retriever(settings)


def ensure_index() -> store.IndexStatus:
    """First start with no index builds it, with progress, instead of failing."""
    try:
        return store.status(store.connect(settings.index_dir, readonly=True))
    except store.IndexMissing:
        bar = st.progress(0.0, text="Building the index for the first time...")

        def progress(label: str, done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Indexing {label}")

        sync(settings, progress=progress)
        bar.empty()
        return store.status(store.connect(settings.index_dir, readonly=True))


status = ensure_index()
with st.sidebar:
    st.header("Index")
    updated = (dt.datetime.fromtimestamp(status.updated_at).strftime("%Y-%m-%d %H:%M")
               if status.updated_at else "never")
    st.text(f"{status.documents} documents\n{status.chunks} chunks\n"
            f"model: {status.model}\nlast indexed: {updated}")

st.title("Inspection reports Q&A")
question = st.chat_input("Ask about the inspection reports")
if question:
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        for hit in retriever_for(str(settings.index_dir)).search(question, k=5):
            st.text(f"{hit.title} ({hit.date or 'undated'})")
            st.text(hit.text)
