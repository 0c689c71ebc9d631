"""One answer's view of what storage keeps of its thread (ARCHITECTURE.md §3).

Read once when the answer starts; what the answer adds (images joining the numbered
list, text read from documents, the answer itself) is kept here while it runs, so the
conversation and the image list are assembled without going back to storage, and it
is recorded in one unit of work when the answer ends.
"""

from __future__ import annotations

from collections.abc import Iterable

from slack_client import IncomingMessage
from storage import (
    StoredDocument,
    StoredMessage,
    ThreadImage,
    ThreadRecord,
    ThreadStore,
    TurnRecord,
)


class ThreadMemory:
    def __init__(self, channel: str, thread_ts: str, stored: ThreadRecord) -> None:
        self.channel = channel
        self.thread_ts = thread_ts
        self._stored = stored
        self._documents: dict[str, StoredDocument] = {}
        self._images: list[ThreadImage] = []
        self._answer: StoredMessage | None = None

    @classmethod
    async def load(cls, threads: ThreadStore, message: IncomingMessage) -> ThreadMemory:
        """A message that starts a thread has nothing stored before it: no read."""
        if not message.is_thread_reply:
            return cls(message.channel, message.thread_ts, ThreadRecord())
        stored = await threads.load_thread(message.channel, message.thread_ts)
        return cls(message.channel, message.thread_ts, stored)

    @property
    def messages(self) -> list[StoredMessage]:
        """The turns stored before this answer."""
        return self._stored.messages

    @property
    def documents(self) -> list[StoredDocument]:
        """Text read from documents before this answer."""
        return self._stored.documents

    def images(self) -> list[ThreadImage]:
        """The thread's numbered list as it stands: in the order posted, an image listed
        once, at its first place."""
        listed = {image.file_id for image in self._stored.images}
        added: list[ThreadImage] = []
        for image in self._images:
            if image.file_id not in listed:
                listed.add(image.file_id)
                added.append(image)
        # A stable sort: among images of one message, the earlier listed stays first.
        return sorted([*self._stored.images, *added], key=lambda image: float(image.message_ts))

    def add_images(self, images: Iterable[ThreadImage]) -> None:
        self._images.extend(images)

    def add_document(self, document: StoredDocument) -> None:
        self._documents[document.file_id] = document

    def answered(self, ts: str, text: str, *, outside: bool) -> None:
        """The answer to the message at `ts`, as it was shown."""
        self._answer = StoredMessage(ts, "assistant", None, text, outside)

    async def record(self, threads: ThreadStore) -> None:
        """What this answer added, in one unit of work; nothing when it added nothing."""
        turn = TurnRecord(list(self._documents.values()), self._images, self._answer)
        if turn.documents or turn.images or turn.answer is not None:
            await threads.record_turn(self.channel, self.thread_ts, turn)
