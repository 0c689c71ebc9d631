"""Reading what a message has attached or linked: documents and images, each read in a
worker process, and the links the bot may fetch.

Below `conversation/` and `tools/`; of the rest of the pipeline it uses only the answer's
memory (`message_processor/memory.py`)."""
