"""What a GUI test's run printed but nobody saw: exceptions the console's code raised where no
caller catches them (a slot, an event handler, a worker thread) and Qt's critical messages."""

from __future__ import annotations

import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

FAILING_QT_MESSAGES = (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)


class ExceptionLog:
    """Records, while installed, what would otherwise only be printed: exceptions reaching
    ``sys.excepthook`` (PySide hands it those raised in slots and event handlers, with or
    without a Python frame to show) and ``threading.excepthook``, and Qt's critical and fatal
    messages. Each is still printed to stderr as it happens."""

    def __init__(self) -> None:
        self.records: list[str] = []
        self._previous_thread_hook = threading.excepthook
        self._previous_hook = sys.excepthook
        self._previous_handler: Any = None

    def install(self) -> None:
        self._previous_hook = sys.excepthook
        self._previous_thread_hook = threading.excepthook
        sys.excepthook = self._exception
        threading.excepthook = self._thread_exception
        self._previous_handler = qInstallMessageHandler(self._qt_message)

    def uninstall(self) -> None:
        qInstallMessageHandler(self._previous_handler)
        threading.excepthook = self._previous_thread_hook
        sys.excepthook = self._previous_hook

    def _exception(self, kind: type[BaseException], value: BaseException,
                   tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        self.records.append(text)
        sys.stderr.write(text)

    def _thread_exception(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value,
                                                  args.exc_traceback))
        name = args.thread.name if args.thread is not None else "?"
        self.records.append(f"in thread {name}: {text}")
        self._previous_thread_hook(args)

    def _qt_message(self, kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if kind in FAILING_QT_MESSAGES:
            self.records.append(f"Qt {kind.name}: {message}")
        if self._previous_handler is not None:
            self._previous_handler(kind, context, message)
        else:
            sys.stderr.write(f"{message}\n")

    def take(self) -> list[str]:
        records, self.records = self.records, []
        return records


__all__ = ["FAILING_QT_MESSAGES", "ExceptionLog"]
