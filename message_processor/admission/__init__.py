"""Who gets an answer, and when: access and rate limits, answers in flight, model slots.

The lowest layer of the pipeline: it imports nothing else of message_processor."""
