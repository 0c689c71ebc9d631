"""What the model may call while it answers: drawing and editing images (within each
person's allowance) and browser actions (behind the gate and the asker's approval).

Above `files/` and `conversation/`; only the answer (`message_processor/answer.py`) and
the listeners' backend use it."""
