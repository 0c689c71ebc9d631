"""The pipeline from an incoming Slack message to a reply in its thread."""

from message_processor.admission.access import AccessPolicy, RateLimiter
from message_processor.admission.inflight import AnswersInFlight
from message_processor.admission.slots import ModelSlots
from message_processor.answer import TextHandler
from message_processor.conversation.context import ThreadContext
from message_processor.conversation.summaries import ConversationDesk, ConversationRef
from message_processor.files.attachment_reader import AttachmentReader
from message_processor.files.document_reader import DocumentReader
from message_processor.files.image_reader import ImageReader
from message_processor.files.links import LinkFetcher, build_link_session
from message_processor.files.page_reader import PageReader
from message_processor.listener_backend import BackendParts, ListenerBackend
from message_processor.preferences import Preferences
from message_processor.processor import Gatekeeping, MessageProcessor, ProcessorSettings
from message_processor.retention import Retention
from message_processor.tools.allowance import ImageAllowance
from message_processor.tools.desk import OfferedSource, ToolDesk
from message_processor.tools.drawing import ImageTools
from message_processor.tools.gate import ToolGate

__all__ = [
    "AccessPolicy",
    "AnswersInFlight",
    "AttachmentReader",
    "BackendParts",
    "ConversationDesk",
    "ConversationRef",
    "DocumentReader",
    "Gatekeeping",
    "ImageAllowance",
    "ImageReader",
    "ImageTools",
    "LinkFetcher",
    "ListenerBackend",
    "MessageProcessor",
    "ModelSlots",
    "OfferedSource",
    "PageReader",
    "Preferences",
    "ProcessorSettings",
    "RateLimiter",
    "Retention",
    "TextHandler",
    "ThreadContext",
    "ToolDesk",
    "ToolGate",
    "build_link_session",
]
