"""Structured log lines on stdout (settings.LOGGING, LOG_FORMAT=json).

No Django imports here: logging is configured while settings load.
"""

import json
import logging


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for a log collector reading stdout."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "security", {}))
        status = getattr(record, "status_code", None)
        if status is not None:
            data["status"] = status
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)
