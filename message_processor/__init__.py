"""The pipeline from an incoming Slack message to a reply in its thread."""

from message_processor.context import ThreadContext
from message_processor.handlers.attachments import AttachmentReader
from message_processor.handlers.documents import DocumentReader
from message_processor.handlers.images import ImageTools
from message_processor.handlers.text import TextHandler
from message_processor.handlers.vision import ImageReader
from message_processor.links import LinkFetcher, build_link_session
from message_processor.processor import MessageProcessor, ProcessorSettings
from message_processor.slots import ModelSlots

__all__ = [
    "AttachmentReader",
    "DocumentReader",
    "ImageReader",
    "ImageTools",
    "LinkFetcher",
    "MessageProcessor",
    "ModelSlots",
    "ProcessorSettings",
    "TextHandler",
    "ThreadContext",
    "build_link_session",
]
