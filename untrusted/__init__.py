"""Untrusted content (documents, images) read in worker processes with hard limits."""
