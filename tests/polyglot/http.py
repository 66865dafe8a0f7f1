"""Test fixture for host/tests/all/http.rs: outgoing HTTP from Python with the SDK's
`pp.http` (over the world's wasi:http), to the test server on 127.0.0.1:18631. The same
cases as tests/programs/http_jobs (Rust) and http.js: a result is {status, body, len} or
{err} with the wasi:http error code."""

import parproc as pp

SERVER = "http://127.0.0.1:18631"


def get(url, keep=True):
    try:
        r = pp.http.get(url, stream=not keep)
        if keep:
            return {"status": r.status, "body": r.text(), "len": len(r.content),
                    "location": r.header("location")}
        return {"status": r.status, "len": sum(len(c) for c in r.iter_content())}
    except pp.http.HTTPError as e:
        return {"err": e.code, "detail": str(e.detail)}


@pp.Proto(name="get::[case]", needs=pp.Needs(http=[SERVER]))
def get_case(context, case):
    if case == "denied":
        return get("http://127.0.0.1:18632/hello")
    if case == "redirect":
        first = get(f"{SERVER}/redirect")
        if "err" in first:
            return first
        return {"first": first["status"], "then": get(first["location"])}
    if case == "stream":
        return get(f"{SERVER}/huge", keep=False)
    return get(f"{SERVER}/{case}")


@pp.Proc(needs=pp.Needs(http=["https://localhost:18633"]))
def tls(context):
    """HTTPS to the test server's TLS port, whose certificate the test's own CA signed."""
    return get("https://localhost:18633/hello")


@pp.Proc()
def nohttp(context):
    """Declares no origin, asks anyway."""
    return get(f"{SERVER}/hello")
