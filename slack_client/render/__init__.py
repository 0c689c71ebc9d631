"""Turning content into what Slack shows: Block Kit views, Markdown into mrkdwn or Markdown
blocks, browser results. Pure functions; nothing here calls Slack."""
