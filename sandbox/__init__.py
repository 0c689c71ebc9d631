"""The bot without a Slack workspace: an embedded Slack-compatible workspace and an
OpenAI-compatible model server, both on loopback.

The test suite runs the bot against the same two (one implementation, DESIGN.md
section 9); `python main.py sandbox` will put a web page in front of them.
"""
