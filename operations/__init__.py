"""What an operator reads and runs beside the bot: metrics and health, structured logs,
and the background jobs (ARCHITECTURE.md §2). It imports nothing of the bot's own."""
