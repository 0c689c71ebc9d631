"""A fake Slack that speaks Slack's real wire protocols over loopback.

``FakeSlack`` serves the Web API (``/api/{method}``) and a Socket Mode WebSocket
(``/socket-mode``) from one aiohttp server bound to 127.0.0.1 (``start`` takes another
``host``, and a ``setup`` that adds routes, as :mod:`sandbox.page` does). Every route is
behind :func:`sandbox.guard.loopback_only`: loopback Host names only, nothing another
web site sends. The bot talks
to it through the unmodified slack-sdk / slack-bolt clients: point ``AsyncWebClient``'s
``base_url`` at :attr:`FakeSlack.api_url` and ``apps.connections.open`` hands out the
WebSocket URL. Tests drive Slack's side (users posting, disconnects, faults) through the
async helper methods, and inspect what the bot did through the recorded state.

Protocol details were checked against slack-sdk 3.47 / slack-bolt 1.30:

* Socket Mode clients ping with ``sdk-ping-pong:<time>`` and treat the connection as stale
  unless the pong echoes that payload; aiohttp's ``autoping`` echoes ping payloads.
* Acks are ``{"envelope_id": ..., "payload": ...}`` text frames; Bolt only acks events that
  some listener matched.
* On a ``disconnect`` message the client closes the old socket *before* opening a new one,
  so envelopes sent in between must be queued, as Slack does.
* Bolt's per-request client adds ``team_id`` to every call's parameters.

Files, as Slack hosts them:

* Shared files are served from ``/files-pri/{team}-{file}/[download/]{name}`` on the same
  server. Only ``Authorization: Bearer <bot token>`` opens them; without it (or with any
  other token) Slack answers **200** with an HTML login page, not 401.
* ``files_upload_v2`` (slack-sdk 3.47) makes three requests: ``files.getUploadURLExternal``
  (``filename``, ``length``, ``alt_txt``, ``snippet_type`` in the query string), a POST of
  the raw bytes to the returned ``upload_url`` *without* an Authorization header, whose
  answer must be HTTP 200 (Slack's is ``text/plain`` "OK - <length>"), then
  ``files.completeUploadExternal`` (``files`` as a JSON string of ``{"id", "title"}``,
  plus ``channel_id``, ``thread_ts``, ``initial_comment``). ``alt_txt`` travels only in
  the first call.

The installed app (:meth:`FakeSlack.install`, rules in :mod:`sandbox.manifest`): a
manifest Slack refuses is refused; only subscribed events are delivered (the rest land
in :attr:`FakeSlack.undelivered`); only declared commands and shortcuts can be used.
Slack's agent experience (``agent_view``) comes with :meth:`~FakeSlack.open_messages_tab`
(``app_home_opened``, tab "messages"), :meth:`~FakeSlack.change_context`
(``app_context_changed``), ``app_context`` on :meth:`~FakeSlack.post_user_message`,
agent sessions (``agents.sessions.setStatus``; a stream opens one, ``chat.stopStream``'s
``session_status`` ends it) and :meth:`~FakeSlack.press_stop` (``agent_session_stopped``,
after Slack itself stopped the app's streams in the thread). ``conversations.info`` and
``conversations.members`` answer from :meth:`~FakeSlack.add_channel`. A user added with
another ``team`` (:meth:`~FakeSlack.add_user`) is a Slack Connect guest: their messages
carry their team as ``team``, ``user_team`` and ``source_team`` and in ``user_profile``,
in events marked ``is_ext_shared_channel``.

Faults and rate limits are not the workspace's: a test attaches a
:class:`~sandbox.workspace.hook.Gatekeeper` (:meth:`FakeSlack.attach`; tests use
``tests.fakes.slack_faults.SlackFaults``), which is asked before each authorised Web API
call and each file request is answered and may refuse it (HTTP 429 with ``Retry-After``,
a 5xx, or ``{"ok": false}``); a refused call changes nothing.

The package, by concern: :mod:`~sandbox.workspace.state` and
:mod:`~sandbox.workspace.records` (what is stored), a module per Web API family
(:mod:`~sandbox.workspace.chat`, :mod:`~sandbox.workspace.conversations`,
:mod:`~sandbox.workspace.files`, :mod:`~sandbox.workspace.views`,
:mod:`~sandbox.workspace.assistant`, :mod:`~sandbox.workspace.users`),
:mod:`~sandbox.workspace.socket_mode`, the senders (:mod:`~sandbox.workspace.events`,
:mod:`~sandbox.workspace.interactions`, :mod:`~sandbox.workspace.answers`),
:mod:`~sandbox.workspace.people`, Block Kit (:mod:`~sandbox.workspace.blocks`,
:mod:`~sandbox.workspace.view_checks`, :mod:`~sandbox.workspace.inputs`,
:mod:`~sandbox.workspace.reading`), how things are shown
(:mod:`~sandbox.workspace.render`) and the HTTP server (:mod:`~sandbox.workspace.server`),
with :class:`FakeSlack` (:mod:`~sandbox.workspace.fake`) as the facade over them.

Interactivity, as Slack delivers it over Socket Mode (payload shapes from api.slack.com,
checked against what slack-bolt 1.30 reads from them):

* Test-side senders play the user: :meth:`FakeSlack.slash_command` (``slash_commands``
  envelope), :meth:`~FakeSlack.click` (``block_actions`` from a message, an ephemeral
  message, a modal or App Home), :meth:`~FakeSlack.submit_view` (``view_submission``),
  :meth:`~FakeSlack.close_view` (``view_closed``), :meth:`~FakeSlack.message_shortcut`
  (``message_action``), :meth:`~FakeSlack.open_home` (``app_home_opened``) and
  :meth:`~FakeSlack.start_assistant_thread` (``assistant_thread_started``). A user can only
  click what is shown to them: the element must be in the blocks, else AssertionError.
* Every interaction carries a fresh ``trigger_id``: usable once, for
  :attr:`FakeSlack.trigger_ttl` (3) seconds, by views.open / views.push (errors
  ``invalid_trigger_id``, ``exchanged_trigger_id``, ``expired_trigger_id``).
* Commands, message clicks and shortcuts carry a ``response_url`` served by the fake
  (``/response/{id}``, POST JSON, answered ``ok`` as text/plain, at most 5 uses). Each POST
  is recorded in :attr:`FakeSlack.responses`; ephemeral answers (the default) also land in
  :attr:`FakeSlack.ephemerals`, ``in_channel`` ones become bot messages, and
  ``replace_original`` / ``delete_original`` act on the clicked message (own or ephemeral).
* Acks are applied like Slack applies them, if they come within :attr:`FakeSlack.ack_deadline`
  (3) seconds: a slash command's ack text/blocks is shown to the user (ephemeral unless
  ``in_channel``); a view submission's ``response_action`` (``errors`` / ``update`` /
  ``push`` / ``clear``, or nothing: close) changes the modal stack. ``submit_view`` returns
  once that happened.
* Views (``views.open/push/update/publish``) are validated like Slack validates them and kept
  as :class:`View` records: the user's modal stack (:meth:`FakeSlack.open_modals`), App Home
  (:meth:`FakeSlack.home_view`), the state a user entered, the errors shown.
* ``chat.postEphemeral`` is stored as an :class:`Ephemeral` (never in history), and the
  ``assistant.threads.*`` calls as the latest status / title / prompts per thread (a reply
  from the app clears the status, as in Slack). Message blocks are checked too: at most 50,
  each with a ``type``, no ``block_id`` twice (else ``invalid_blocks``).
* A ``block_actions`` payload from an ephemeral message has no ``message`` (Slack does not
  send it back); message blocks without ``block_id`` / ``action_id`` get stable stand-in ids
  in payloads (Slack assigns random ones), while views get real ones when stored.
* :func:`blocks_text` gives what a person reads in blocks, for asserting on what users see.

Simplified on purpose: ephemeral messages are kept (Slack forgets them on reload); response
URLs never expire (Slack: 30 minutes); channel names are made up (``directmessage`` for DMs);
an invalid view is refused before its trigger_id is used up; views.push without an open modal
starts a new stack; external_id is unique among open views only; assistant.threads.* do not
check that the thread exists.
"""

from sandbox.workspace.blocks import check_message_blocks
from sandbox.workspace.errors import SlackError
from sandbox.workspace.fake import FakeSlack
from sandbox.workspace.hook import Gatekeeper, Refusal
from sandbox.workspace.reading import blocks_text
from sandbox.workspace.records import (
    ApiCall,
    Ephemeral,
    FileRequest,
    Message,
    Response,
    SuggestedPrompts,
    Upload,
    UploadedFile,
    View,
)
from sandbox.workspace.view_checks import checked_view

__all__ = [
    "ApiCall",
    "Ephemeral",
    "FakeSlack",
    "FileRequest",
    "Gatekeeper",
    "Message",
    "Refusal",
    "Response",
    "SlackError",
    "SuggestedPrompts",
    "Upload",
    "UploadedFile",
    "View",
    "blocks_text",
    "check_message_blocks",
    "checked_view",
]
