"""Batch scoring of login logs with the same feature definitions as the service."""
