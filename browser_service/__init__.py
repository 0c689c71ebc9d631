"""The browser-automation service: a tool source built from its OpenAPI document."""

from browser_service.catalogue import Action, AllowList, Param, check_arguments
from browser_service.client import BrowserService
from browser_service.errors import NotLoggedIn

__all__ = ["Action", "AllowList", "BrowserService", "NotLoggedIn", "Param", "check_arguments"]
