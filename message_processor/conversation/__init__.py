"""What the model reads of a conversation: the thread merged with what was stored, what in
it the asker did not write, and conversations read to someone on request.

Above `files/` (earlier messages' images are read with its image reader)."""
