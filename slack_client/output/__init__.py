"""What the bot writes to Slack: streamed replies and the messages the pipeline sends by what
they say (a welcome, a refusal, an approval)."""
