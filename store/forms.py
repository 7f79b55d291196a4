"""The drafts of the guided conversations (forms), one row per person and form.

A form (``handlers/forms.py``) writes its draft and its step here *before* it
asks the next question, so a restart resumes where the person was; PTB's
persistence only reads the step back (``Conversation.step_kept_by_store``).
The row is the ``conversations`` row of the form's name and the person's
keyed hash: ``state`` the step, ``data`` the answers (sealed: a draft may name
people or hold a phone number), ``ui`` the chat's own state (which screen,
the last update applied), opaque to the store and kept in clear.

Every form's drafts go through :class:`FormDrafts`; the typed drafts of the
intake (``CaseService.get_draft``) are read and written through it too, and
the registration's read back typed (``LedgerService.get_draft``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from store.context import Service
from store.conversations import Conversation
from store.vault import is_sealed


@dataclass
class StoredDraft:
    """A form's row as stored: its step (None: PTB ended it), answers (JSON values) and chat state."""

    step: str | None
    data: Any
    ui: dict[str, Any] = field(default_factory=dict)
    updated_at: str | None = None


class FormDrafts(Service):
    """Read, write and drop the draft of a person's form (``name``)."""

    async def get(self, name: Conversation, user_id: int) -> StoredDraft | None:
        key = self.ctx.conv_key(user_id)
        async with self.db.read_one() as conn:
            async with conn.execute("SELECT state, data, ui, updated_at FROM conversations WHERE name = ? AND key = ?",
                                    (name, key)) as cur:
                row = await cur.fetchone()
        if row is None or row["data"] is None:
            return None
        stored = str(row["data"])
        # A draft is sealed; only an intake written before the vault (0008) may still be plain JSON.
        data = self.ctx.open_conv(name, key, "data", stored) if is_sealed(stored) else json.loads(stored)
        return StoredDraft(step=row["state"], data=data, ui=json.loads(row["ui"] or "{}"),
                           updated_at=row["updated_at"])

    async def save(self, name: Conversation, user_id: int, step: str, data: Any,
                   ui: dict[str, Any] | None = None) -> None:
        """Write the answers (JSON values), the step and the chat state; ``ui`` None keeps the stored one."""
        key = self.ctx.conv_key(user_id)
        async with self.db.write_one() as conn:
            await conn.execute(
                "INSERT INTO conversations (name, key, sealed_key, state, data, ui, updated_at)"
                " VALUES (?, ?, ?, ?, ?, COALESCE(?, '{}'), ?)"
                " ON CONFLICT (name, key) DO UPDATE SET state = excluded.state, data = excluded.data,"
                " ui = CASE WHEN CAST(? AS TEXT) IS NULL THEN conversations.ui ELSE excluded.ui END,"
                " updated_at = excluded.updated_at",
                (name, key, self.ctx.seal_conv(name, key, "sealed_key", str(user_id)), step,
                 self.ctx.seal_conv(name, key, "data", data), None if ui is None else json.dumps(ui),
                 self.ctx.now(), None if ui is None else 1),
            )

    async def clear(self, name: Conversation, user_id: int) -> None:
        async with self.db.write_one() as conn:
            await conn.execute("DELETE FROM conversations WHERE name = ? AND key = ?",
                               (name, self.ctx.conv_key(user_id)))
