"""Outgoing HTTP from a proc (a parproc-host addition): a small synchronous client over the
world's `wasi:http/outgoing-handler`, since Python's own `urllib` needs sockets a component
does not have.

    import parproc as pp

    @pp.Proc(needs=pp.Needs(http=['https://api.example.com']))
    def status(context):
        r = pp.http.get('https://api.example.com/v1/status')
        return r.json()

The proc declares each origin (`Needs(http=[...])`) and the user grants it
(`--allow-http PATTERN`); a request anywhere else fails with `HTTPError` whose `code` is
`'HTTP-request-denied'`. The host never follows redirects: a 3xx is returned as it is (its
`Location` in `headers`), and following it to an origin not granted is denied too.
"""

from urllib.parse import urlsplit

try:  # The bindings exist inside a component only (imported while it is built).
    from componentize_py_types import Err as _Err
    from wit_world.imports import outgoing_handler as _handler
    from wit_world.imports import streams as _streams
    from wit_world.imports import wasi_http_types as _t
except ImportError:  # imported by the build command on the build machine
    _Err = Exception
    _handler = _streams = _t = None

__all__ = ["HTTPError", "Response", "request", "get", "post"]

#: How much one read of a response body asks for.
CHUNK = 1 << 16

# The WIT names of error codes that start with an acronym.
_ACRONYMS = {"dns": "DNS", "tls": "TLS", "http": "HTTP"}


class HTTPError(Exception):
    """A request that got no response (or whose body broke off): `code` is the wasi:http
    `error-code` case (`'HTTP-request-denied'`, `'connection-refused'`,
    `'HTTP-response-header-size'`, ...), `detail` the payload the host gave, if any."""

    def __init__(self, code, detail=None):
        self.code = code
        self.detail = detail
        super().__init__(code if detail is None else f"{code}: {detail}")


def _code_name(err):
    """`ErrorCode_HttpRequestDenied` -> `'HTTP-request-denied'` (the WIT case name)."""
    name = type(err).__name__.removeprefix("ErrorCode_")
    words, word = [], ""
    for ch in name:
        if ch.isupper() and word:
            words.append(word)
            word = ""
        word += ch.lower()
    words.append(word)
    words[0] = _ACRONYMS.get(words[0], words[0])
    return "-".join(words)


def _error(err):
    value = getattr(err, "value", None)
    return HTTPError(_code_name(err), None if value is None else value)


def _unwrap(value):
    """An `Err` raised by a binding (a header error, an error code) as an `HTTPError`."""
    inner = getattr(value, "value", value)
    if type(inner).__name__.startswith("ErrorCode_"):
        return _error(inner)
    return HTTPError("internal-error", type(inner).__name__)


class Response:
    """An HTTP response: `status` (int), `headers` (a list of `(name, bytes)` pairs in the
    order received), and the body: `content` (bytes) unless the request passed
    `stream=True`, in which case `iter_content()` yields it chunk by chunk."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self._body = body
        self._content = None

    def header(self, name):
        """The first value of header `name` (any case) as text, or None."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return None

    def iter_content(self, chunk_size=CHUNK):
        """Yield the body in chunks of at most `chunk_size` bytes, reading as it goes (a
        body of any size, in bounded memory)."""
        if self._content is not None:
            yield self._content
            return
        body, self._body = self._body, None
        if body is None:
            raise HTTPError("internal-error", "the body was already read")
        stream = body.stream()
        try:
            while True:
                try:
                    chunk = stream.blocking_read(chunk_size)
                except _Err as e:
                    if type(e.value).__name__ == "StreamError_Closed":
                        return
                    failed = e.value.value
                    raise HTTPError("HTTP-protocol-error", failed.to_debug_string()) from None
                if chunk:
                    yield chunk
        finally:
            stream.__exit__(None, None, None)
            body.__exit__(None, None, None)

    @property
    def content(self):
        """The whole body as bytes (read on first use)."""
        if self._content is None:
            self._content = b"".join(self.iter_content())
        return self._content

    def text(self, encoding="utf-8"):
        """The body decoded as text (invalid bytes replaced)."""
        return self.content.decode(encoding, errors="replace")

    def json(self):
        """The body parsed as JSON."""
        import json

        return json.loads(self.content)


def _scheme(name):
    if name == "http":
        return _t.Scheme_Http()
    if name == "https":
        return _t.Scheme_Https()
    return _t.Scheme_Other(name)


_METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}


def _method(name):
    if not isinstance(name, str) or not name:
        raise TypeError(f"method must be a non-empty str, got {name!r}")
    if name.upper() in _METHODS:
        return getattr(_t, f"Method_{name.capitalize()}")()
    return _t.Method_Other(name)


def _nanos(seconds, what):
    if seconds is None:
        return None
    if not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError(f"{what} must be a number of seconds >= 0, got {seconds!r}")
    return int(seconds * 1e9)


def request(method, url, headers=None, body=None, *, stream=False, connect_timeout=None,
            first_byte_timeout=None, between_bytes_timeout=None):
    """Send one request and wait for the response's head; returns a `Response`.

    `headers` is a mapping or a list of pairs (values str or bytes); `body` is bytes or
    str (sent as UTF-8). Timeouts are in seconds (the proc's own timeout bounds them all).
    With `stream=True` the body is left unread for `Response.iter_content()`. Raises
    `HTTPError` when no response arrives (denied origin, refused connection, a header
    over the size limit, ...)."""
    if _handler is None:
        raise RuntimeError("pp.http works inside a proc only")
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got '{type(url).__name__}'")
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"url must be absolute (scheme://host/path), got {url!r}")
    pairs = list(headers.items()) if hasattr(headers, "items") else list(headers or ())
    entries = []
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, (str, bytes)):
            raise TypeError(f"a header must be a str name and a str or bytes value, got {(name, value)!r}")
        entries.append((name, value.encode("latin-1") if isinstance(value, str) else value))
    if isinstance(body, str):
        body = body.encode()
    if body is not None and not isinstance(body, (bytes, bytearray)):
        raise TypeError(f"body must be bytes or str, got '{type(body).__name__}'")
    try:
        fields = _t.Fields.from_list(entries)
    except _Err as e:
        why = type(e.value).__name__.removeprefix("HeaderError_")
        raise ValueError(f"a request header was refused ({why}): {entries!r}") from None
    req = _t.OutgoingRequest(fields)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    for setter, value, what in ((req.set_method, _method(method), "method"),
                                (req.set_scheme, _scheme(parts.scheme), "scheme"),
                                (req.set_authority, parts.netloc, "authority"),
                                (req.set_path_with_query, path, "path")):
        try:
            setter(value)
        except _Err:
            raise ValueError(f"invalid request {what} in {url!r}") from None
    options = _t.RequestOptions()
    for setter, value, what in ((options.set_connect_timeout, connect_timeout, "connect_timeout"),
                                (options.set_first_byte_timeout, first_byte_timeout,
                                 "first_byte_timeout"),
                                (options.set_between_bytes_timeout, between_bytes_timeout,
                                 "between_bytes_timeout")):
        ns = _nanos(value, what)
        if ns is not None:
            try:
                setter(ns)
            except _Err:
                raise ValueError(f"{what} is not supported by the host") from None
    out = req.body()
    try:
        future = _handler.handle(req, options)
    except _Err as e:
        raise _unwrap(e) from None
    if body:
        sink = out.write()
        try:
            for i in range(0, len(body), 4096):
                sink.blocking_write_and_flush(bytes(body[i:i + 4096]))
        except _Err as e:
            raise HTTPError("HTTP-request-body-size", type(e.value).__name__) from None
        finally:
            sink.__exit__(None, None, None)
    _t.OutgoingBody.finish(out, None)
    future.subscribe().block()
    outer = future.get()
    if outer is None:  # not ready after block(): cannot happen, but never loop on it
        raise HTTPError("internal-error", "no response")
    if isinstance(outer, _Err):
        raise HTTPError("internal-error", "the response was already taken")
    inner = outer.value
    if isinstance(inner, _Err):
        raise _error(inner.value)
    resp = inner.value
    status = resp.status()
    fields = resp.headers()
    heads = fields.entries()
    fields.__exit__(None, None, None)
    incoming = resp.consume()
    r = Response(status, heads, incoming)
    if not stream:
        r.content  # noqa: B018 - read it now
    return r


def get(url, **kwargs):
    """`request('GET', url, ...)`."""
    return request("GET", url, **kwargs)


def post(url, body=None, **kwargs):
    """`request('POST', url, body=body, ...)`."""
    return request("POST", url, body=body, **kwargs)
