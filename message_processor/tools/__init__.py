"""What the model may call while it answers: drawing and editing images (within each
person's allowance) and outside tools from every source, the browser service and MCP
servers (each behind its gate, and the asker's approval for anything that changes
something).

Above `files/` and `conversation/`; only the answer (`message_processor/answer.py`) and
the listeners' backend use it."""
