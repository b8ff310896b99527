"""Who may do what: readers ask, editors add and withdraw documents.

Anyone who reaches the page is a reader. An editor is a visitor signed in through the
page's OpenID Connect provider whose e-mail address is in the ``editors`` setting, or
whose ID token carries the ``editor_claim`` value (a group or role the council's
provider already issues). Nobody is an editor by being named in the code. With no
provider configured nobody is signed in, so the page is read-only, unless the
``open_uploads`` setting opens adding and withdrawing to every visitor.

These are pure functions of the settings and the visitor's claims: the page asks them
before showing a control, and ``rag.editing`` asks them again before it changes
anything, so hiding a control is never the only guard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from rag.config import Settings

ANONYMOUS_EDITOR = "anonymous (uploads open to everyone)"


class NotAllowed(PermissionError):
    """A visitor tried to change the library without being an editor."""


@dataclass(frozen=True)
class Visitor:
    """Who is on the page, as the identity provider describes them (or nobody)."""

    signed_in: bool = False
    email: str | None = None
    name: str | None = None
    claims: Mapping[str, object] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How the log and citations name them."""
        return self.email or self.name or str(self.claims.get("sub") or "") or "signed-in user"


ANONYMOUS = Visitor()


def visitor_from(user_info: Mapping[str, object]) -> Visitor:
    """A Visitor from Streamlit's ``st.user`` (its dict form); anonymous unless signed in."""
    if not user_info.get("is_logged_in"):
        return ANONYMOUS
    email = user_info.get("email")
    name = user_info.get("name")
    return Visitor(True, str(email) if email else None, str(name) if name else None,
                   dict(user_info))


def sign_in_configured(user_info: Mapping[str, object]) -> bool:
    """Streamlit puts ``is_logged_in`` in ``st.user`` only when ``[auth]`` is configured."""
    return "is_logged_in" in user_info


def editor_emails(settings: Settings) -> frozenset[str]:
    """The ``editors`` setting as lower-cased addresses (comma, semicolon or space apart)."""
    words = settings.editors.replace(";", ",").replace(",", " ").split()
    return frozenset(w.strip().lower() for w in words if w.strip())


def editor_claim(settings: Settings) -> tuple[str, str] | None:
    """The ``editor_claim`` setting as (claim, value), or None when unset.

    Raises ValueError naming the setting when it is not written ``claim=value``.
    """
    text = settings.editor_claim.strip()
    if not text:
        return None
    claim, sep, value = text.partition("=")
    if not sep or not claim.strip() or not value.strip():
        raise ValueError(f"setting 'editor_claim' is {text!r}; write it as claim=value, "
                         "such as groups=childrens-services-editors")
    return claim.strip(), value.strip()


def is_editor(settings: Settings, visitor: Visitor) -> bool:
    """A signed-in visitor named in ``editors`` or holding ``editor_claim``."""
    if not visitor.signed_in:
        return False
    if visitor.email and visitor.email.strip().lower() in editor_emails(settings):
        return True
    wanted = editor_claim(settings)
    if wanted is None:
        return False
    held = visitor.claims.get(wanted[0])
    values = held if isinstance(held, list | tuple | set | frozenset) else [held]
    return any(str(v) == wanted[1] for v in values if v is not None)


def may_edit(settings: Settings, visitor: Visitor) -> bool:
    """Whether this visitor may add and withdraw documents."""
    return settings.open_uploads or is_editor(settings, visitor)


def actor(settings: Settings, visitor: Visitor) -> str:
    """Who to record for an edit, or NotAllowed when this visitor may not make one."""
    if is_editor(settings, visitor):
        return visitor.label
    if settings.open_uploads:
        return visitor.label if visitor.signed_in else ANONYMOUS_EDITOR
    raise NotAllowed("only an editor may add or withdraw documents; sign in as an editor "
                     "(the 'editors' or 'editor_claim' setting names them)")


def role(settings: Settings, visitor: Visitor) -> str:
    """"editor" or "reader", as the sidebar shows it."""
    return "editor" if may_edit(settings, visitor) else "reader"
