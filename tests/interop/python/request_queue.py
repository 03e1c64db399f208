"""A request iterator for python grpcio streaming calls, fed one message at a time."""

import queue


class Requests:
    """A request iterator fed one message at a time; close() ends it (half-close)."""

    _END = object()

    def __init__(self):
        self._queue = queue.Queue()

    def send(self, message):
        self._queue.put(message)

    def close(self):
        self._queue.put(self._END)

    def __iter__(self):
        return self

    def __next__(self):
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        return item
