"""The exception a request handler raises for a bad request, answered as JSON.

Every refusal of the service goes through :class:`RequestError`, so every one
gets the same shape of answer, ``{"error": "what was wrong"}``, which is also
the error body of the Open Inference Protocol (KServe v2 REST).
"""


class RequestError(Exception):
    """A request the service refuses.

    Parameters
    ----------
    status : int
        The HTTP status (4xx for the client's mistakes, 503 for overload).
    message : str
        What was wrong, for a person: it is the ``error`` of the JSON answer.
    headers : dict, optional
        Extra response headers (``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.headers = dict(headers or {})
