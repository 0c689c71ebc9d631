"""The browser-automation service: its HTTP client and its action catalogue."""

from browser_service.catalogue import Action, AllowList, ArgumentsError, Param, check_arguments
from browser_service.client import BrowserService, WaitNotice
from browser_service.errors import (
    ActionFailed,
    BrowserServiceError,
    InputRejected,
    NotLoggedIn,
    ServiceFailed,
    ServiceNotConfigured,
    ServiceRefused,
    ServiceTimeout,
    ServiceUnreachable,
    UnknownAction,
)

__all__ = [
    "Action",
    "ActionFailed",
    "AllowList",
    "ArgumentsError",
    "BrowserService",
    "BrowserServiceError",
    "InputRejected",
    "NotLoggedIn",
    "Param",
    "ServiceFailed",
    "ServiceNotConfigured",
    "ServiceRefused",
    "ServiceTimeout",
    "ServiceUnreachable",
    "UnknownAction",
    "WaitNotice",
    "check_arguments",
]
