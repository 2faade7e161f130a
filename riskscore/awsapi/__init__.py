"""AWS-compatible JSON 1.1 APIs on one HTTP listener (CloudWatch Logs reads now)."""

from __future__ import annotations

from riskscore.awsapi.http import JsonOperation, create_http_app, start_http_server
from riskscore.awsapi.logs import LOGS_TARGET_PREFIX, LogsApi

__all__ = [
    "LOGS_TARGET_PREFIX",
    "JsonOperation",
    "LogsApi",
    "create_http_app",
    "start_http_server",
]
