"""The pipeline from an incoming Slack message to a reply in its thread."""

from message_processor.access import AccessPolicy, RateLimiter
from message_processor.browser import BrowserDesk
from message_processor.browser_gate import BrowserGate
from message_processor.context import ThreadContext
from message_processor.handlers.allowance import ImageAllowance
from message_processor.handlers.attachments import AttachmentReader
from message_processor.handlers.documents import DocumentReader
from message_processor.handlers.images import ImageTools
from message_processor.handlers.text import TextHandler
from message_processor.handlers.vision import ImageReader
from message_processor.inflight import AnswersInFlight
from message_processor.links import LinkFetcher, build_link_session
from message_processor.preferences import Preferences
from message_processor.processor import Gatekeeping, MessageProcessor, ProcessorSettings
from message_processor.retention import Retention
from message_processor.slots import ModelSlots
from message_processor.summaries import ConversationDesk, ConversationRef
from message_processor.surface import BotSurface, SurfaceParts

__all__ = [
    "AccessPolicy",
    "AnswersInFlight",
    "AttachmentReader",
    "BotSurface",
    "BrowserDesk",
    "BrowserGate",
    "ConversationDesk",
    "ConversationRef",
    "DocumentReader",
    "Gatekeeping",
    "ImageAllowance",
    "ImageReader",
    "ImageTools",
    "LinkFetcher",
    "MessageProcessor",
    "ModelSlots",
    "Preferences",
    "ProcessorSettings",
    "RateLimiter",
    "Retention",
    "SurfaceParts",
    "TextHandler",
    "ThreadContext",
    "build_link_session",
]
