//! Test fixture: outgoing HTTP through `wasi:http/outgoing-handler` (the `wasip2` crate's
//! bindings), to the test server the host tests start on `127.0.0.1:18631`.
//!
//! `get::[case]` declares `needs(http = ["http://127.0.0.1:18631"])`; `nohttp` declares no
//! origin. Cases: `hello` (a plain GET), `denied` (another port), `redirect` (follows the
//! server's `Location` to `127.0.0.2`, which is not granted), `slow` (a server that never
//! answers), `huge` (buffers a 200 MB body), `stream` (reads the same body and counts it),
//! `bigheader` (a 1 MiB response header). `tls` asks `https://localhost:18633`. A result
//! is `{status, body}` (body as text, or its length) or `{err}` with the host's error code.

use parproc_guest::prelude::*;
use parproc_guest::serde_json::Value as Json;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

const SERVER: &str = "127.0.0.1:18631";

/// A response: status, the `location` header, and the body (kept or only counted).
struct Response {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
    len: u64,
}

fn get(authority: &str, path: &str, keep: bool) -> Result<Response, String> {
    get_over(&Scheme::Http, authority, path, keep)
}

fn get_over(scheme: &Scheme, authority: &str, path: &str, keep: bool) -> Result<Response, String> {
    let req = OutgoingRequest::new(Fields::new());
    req.set_scheme(Some(scheme)).map_err(|()| "bad scheme")?;
    req.set_authority(Some(authority))
        .map_err(|()| "bad authority")?;
    req.set_path_with_query(Some(path))
        .map_err(|()| "bad path")?;
    let fut = outgoing_handler::handle(req, None).map_err(|e| format!("{e:?}"))?;
    fut.subscribe().block();
    let resp = fut
        .get()
        .ok_or("no response")?
        .map_err(|()| "response taken twice")?
        .map_err(|e| format!("{e:?}"))?;
    let location = resp
        .headers()
        .get("location")
        .first()
        .map(|v| String::from_utf8_lossy(v).into_owned());
    let status = resp.status();
    let body = resp.consume().map_err(|()| "no body")?;
    let stream = body.stream().map_err(|()| "no stream")?;
    let (mut kept, mut len) = (Vec::new(), 0u64);
    loop {
        match stream.blocking_read(1 << 16) {
            Ok(chunk) => {
                len += chunk.len() as u64;
                if keep {
                    kept.extend_from_slice(&chunk);
                }
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => return Err(e.to_debug_string()),
        }
    }
    Ok(Response {
        status,
        location,
        body: kept,
        len,
    })
}

fn answer(r: Result<Response, String>) -> Json {
    match r {
        Ok(r) => json!({
            "status": r.status,
            "body": String::from_utf8_lossy(&r.body),
            "len": r.len,
        }),
        Err(e) => json!({ "err": e }),
    }
}

/// One request case (see the module docs).
#[proto(name = "get::[case]", needs(http = ["http://127.0.0.1:18631"]))]
fn get_case(case: String) -> Result<Json, Error> {
    Ok(match case.as_str() {
        "denied" => answer(get("127.0.0.1:18632", "/hello", true)),
        "redirect" => match get(SERVER, "/redirect", true) {
            Ok(r) => {
                let to = r.location.unwrap_or_default();
                let rest = to.strip_prefix("http://").unwrap_or(&to);
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                json!({ "first": r.status, "then": answer(get(authority, path, true)) })
            }
            Err(e) => json!({ "err": e }),
        },
        "stream" => answer(get(SERVER, "/huge", false)),
        "huge" => answer(get(SERVER, "/huge", true)),
        other => answer(get(SERVER, &format!("/{other}"), true)),
    })
}

/// HTTPS to the test server's TLS port, whose certificate the test's own CA signed.
#[proc(needs(http = ["https://localhost:18633"]))]
fn tls() -> Result<Json, Error> {
    Ok(answer(get_over(
        &Scheme::Https,
        "localhost:18633",
        "/hello",
        true,
    )))
}

/// Declares no origin, asks anyway.
#[proc]
fn nohttp() -> Result<Json, Error> {
    Ok(answer(get(SERVER, "/hello", true)))
}

export_jobs!(get_case, tls, nohttp);
