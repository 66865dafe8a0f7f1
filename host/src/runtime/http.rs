//! Outgoing HTTP (`wasi:http/outgoing-handler`, wasmtime-wasi-http) to the
//! origins a proc was granted, and nothing else.
//!
//! The host links `wasi:http` for every store; each store's [`HttpHooks`]
//! holds the origins its proc declared and the user granted
//! (`--allow-http`, see `policy::OriginPattern`). [`HttpHooks::send_request`]
//! checks every request's scheme, host and port (the scheme's default when
//! none is written) before anything is sent: a request to anything else is
//! answered `HTTP-request-denied`. The host never follows redirects (a
//! client in the guest that follows one asks again, and is checked again).
//! DNS answers are not looked at: a granted name reaches whatever it
//! resolves to. wasi:http does not go through the socket checks of
//! `--allow-net`, so those do not apply to it.

use std::sync::Arc;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::logsink::{LogLevel, LogSink};
use crate::policy::OriginPattern;

/// The `wasi:http` hooks of one store.
pub(crate) struct HttpHooks {
    allowed: Arc<[OriginPattern]>,
    log: LogSink,
}

impl HttpHooks {
    /// Hooks letting the store reach `allowed`, noting denials in `log`.
    pub(crate) fn new(allowed: Vec<OriginPattern>, log: LogSink) -> Self {
        HttpHooks {
            allowed: allowed.into(),
            log,
        }
    }
}

/// The scheme, host and port of `uri` (the port defaulted by the scheme),
/// or `None` when it lacks one of them.
fn origin(uri: &http::Uri) -> Option<(String, String, u16)> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_owned();
    let port = match uri.port_u16() {
        Some(p) => p,
        None => match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        },
    };
    Some((scheme, host, port))
}

/// Whether `uri` is one of the `allowed` origins.
pub(crate) fn allowed(allowed: &[OriginPattern], uri: &http::Uri) -> bool {
    origin(uri)
        .is_some_and(|(scheme, host, port)| allowed.iter().any(|o| o.matches(&scheme, &host, port)))
}

type Sent = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = Result<(), Error>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Sent {
        _ = fut;
        if !allowed(&self.allowed, request.uri()) {
            self.log.log(
                LogLevel::Warn,
                &format!(
                    "HTTP request to `{}` denied: not a granted origin (`--allow-http`)",
                    origin(request.uri()).map_or_else(
                        || request.uri().to_string(),
                        |(s, h, p)| format!("{s}://{h}:{p}")
                    )
                ),
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_by_scheme_host_and_defaulted_port() {
        let grant = [
            crate::policy::parse_origin_pattern("http://127.0.0.1:8080").expect("o"),
            crate::policy::parse_origin_pattern("https://*.example.com").expect("o"),
        ];
        let ok = |u: &str| allowed(&grant, &u.parse().expect("uri"));
        assert!(ok("http://127.0.0.1:8080/any/path?q"));
        assert!(!ok("http://127.0.0.1:8081/"));
        assert!(!ok("https://127.0.0.1:8080/"));
        assert!(ok("https://api.example.com/v1"));
        assert!(ok("https://api.example.com:443/v1"));
        assert!(!ok("https://api.example.com:8443/v1"));
        assert!(!ok("https://example.com/"));
        assert!(!ok("/relative"));
    }
}
