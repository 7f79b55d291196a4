"""PTB persistence for conversation states, kept in the case store.

Only conversations are persisted: drafts and pending prompts are written by
the handlers themselves, through the store, before each question is asked,
so the state read back here after a crash is never behind what the user saw.

For those conversations (``Conversation.step_kept_by_store``) PTB's own periodic write
is skipped: it runs concurrently with update handling and writes a snapshot
of the state taken earlier, so it could overwrite the state a handler has
just stored (an ended prompt's None over the next prompt's question).
"""

from __future__ import annotations

from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from store.cases import CaseService
from store.conversations import Conversation

# PTB's own spellings of these types (telegram.ext._utils.types), written out
# here rather than imported from PTB's private module.
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]


def _key(key: ConversationKey) -> str:
    return ":".join(str(part) for part in key)


def _unkey(text: str) -> ConversationKey:
    return tuple(int(part) for part in text.split(":"))


class StorePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    def __init__(self, cases: CaseService, update_interval: float = 1.0) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=False, callback_data=False),
            update_interval=update_interval,
        )
        self.cases = cases

    async def get_conversations(self, name: str) -> ConversationDict:
        rows = await self.cases.load_conversations(name)
        return {_unkey(key): state for key, state in rows.items()}

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        if Conversation(name).step_kept_by_store:
            return
        await self.cases.save_conversation(name, _key(key), None if new_state is None else str(new_state))

    # Nothing else is persisted: the store holds the data itself.
    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        return None

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        return None

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None
