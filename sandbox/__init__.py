"""The bot without a Slack workspace: an embedded Slack-compatible workspace, a web page
in front of it, and an offline demo model, all on loopback (`python main.py sandbox`).

The test suite runs the bot against the same workspace and model server, with faults and
a scripted model of its own attached (ARCHITECTURE.md §5).
"""
