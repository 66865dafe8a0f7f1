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
//!
//! A granted request is sent by [`send`]: TCP, TLS through rustls for
//! `https` (the Mozilla roots of `webpki-roots` plus every `--http-ca`,
//! one [`client_config`] per run), HTTP/1.1 through hyper. The response
//! body is streamed to the guest frame by frame as it reads it, so what
//! the host holds of a body stays bounded whatever its size.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use rustls::ClientConfig;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use crate::logsink::{LogLevel, LogSink};
use crate::policy::OriginPattern;

/// The `wasi:http` hooks of one store.
pub(crate) struct HttpHooks {
    allowed: Arc<[OriginPattern]>,
    /// The TLS client of the run (`None`: nothing is allowed, nothing sent).
    tls: Option<Arc<ClientConfig>>,
    log: LogSink,
}

impl HttpHooks {
    /// Hooks that deny every request, noting each in `log`.
    pub(crate) fn deny_all(log: LogSink) -> Self {
        HttpHooks {
            allowed: Arc::new([]),
            tls: None,
            log,
        }
    }

    /// Hooks letting the store reach `allowed` over `tls`, noting denials in
    /// `log`.
    pub(crate) fn new(allowed: Vec<OriginPattern>, tls: Arc<ClientConfig>, log: LogSink) -> Self {
        HttpHooks {
            allowed: allowed.into(),
            tls: Some(tls),
            log,
        }
    }
}

/// The TLS client configuration of a run: the Mozilla roots and the
/// certificates of every `--http-ca` (each already checked to be a usable
/// root when the flag was read).
pub(crate) fn client_config(
    extra: &[crate::policy::CaFile],
) -> Result<Arc<ClientConfig>, rustls::Error> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for ca in extra {
        for cert in &ca.certs {
            roots
                .add(cert.clone())
                .map_err(|e| rustls::Error::General(format!("{}: {e}", ca.path.display())))?;
        }
    }
    // The provider is named, not taken from the process default, so that
    // another crate enabling a second one cannot make this ambiguous.
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
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
        let tls = self.tls.clone();
        if tls.is_none() || !allowed(&self.allowed, request.uri()) {
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
        let tls = tls.expect("checked above");
        Box::new(async move {
            let (res, io) = send(tls, request, options.unwrap_or_default()).await?;
            Ok((res, io))
        })
    }
}

/// How long a request waits to connect, for its first byte and between
/// body frames when the guest sets no limit (the proc's own timeout still
/// bounds everything).
const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// The future that moves a response body's bytes after its head arrived.
type Io = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// A TCP or TLS stream.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// Send a granted `request`: connect to its origin, speak TLS for `https`,
/// send it over HTTP/1.1 and wait for the response's head (each step within
/// its `options` timeout). The body comes as the guest reads it, driven by
/// the returned [`Io`] future.
async fn send(
    tls: Arc<ClientConfig>,
    mut request: http::Request<WasiBody>,
    options: RequestOptions,
) -> Result<(http::Response<WasiBody>, Io), Error> {
    let (scheme, host, port) = origin(request.uri()).ok_or(Error::HttpRequestUriInvalid)?;
    let connect_wait = options.connect_timeout.unwrap_or(DEFAULT_WAIT);
    let first_byte_wait = options.first_byte_timeout.unwrap_or(DEFAULT_WAIT);
    let between_wait = options.between_bytes_timeout.unwrap_or(DEFAULT_WAIT);
    // `[::1]` in a URI, `::1` to connect to and to check a certificate for.
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();

    let tcp = tokio::time::timeout(connect_wait, tokio::net::TcpStream::connect((&*bare, port)))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::Connect)?;
    let stream: Box<dyn Stream> = match scheme.as_str() {
        "https" => {
            let name = rustls_pki_types::ServerName::try_from(bare)
                .map_err(|_| Error::HttpRequestUriInvalid)?;
            let connect = tokio_rustls::TlsConnector::from(tls).connect(name, tcp);
            let tls = tokio::time::timeout(connect_wait, connect)
                .await
                .map_err(|_| Error::ConnectionTimeout)?
                .map_err(tls_error)?;
            Box::new(tls)
        }
        _ => Box::new(tcp),
    };
    let (mut sender, conn) = tokio::time::timeout(
        connect_wait,
        hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)?
    .map_err(Error::from)?;

    // On the wire the request line names the path only (the origin is the
    // connection's); the `host` header is already set.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str)
        .to_owned();
    *request.uri_mut() = http::Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;

    // The connection must be polled for the request to go out and the head
    // to come in: race the two until the head is there.
    let mut conn = Box::pin(conn);
    let head = tokio::time::timeout(first_byte_wait, sender.send_request(request));
    tokio::pin!(head);
    let mut conn_done = false;
    let head = loop {
        tokio::select! {
            biased;
            head = &mut head => break head,
            ended = &mut conn, if !conn_done => {
                // Closed before the head (or with it): the head future
                // tells which, on the next turn.
                ended.map_err(Error::from)?;
                conn_done = true;
            }
        }
    };
    let head = head
        .map_err(|_| Error::ConnectionReadTimeout)?
        .map_err(Error::from)?;
    let response = head.map(|incoming| {
        Paced {
            inner: incoming,
            wait: between_wait,
            deadline: Box::pin(tokio::time::sleep(between_wait)),
        }
        .boxed_unsync()
    });
    let io: Io = Box::new(async move {
        if conn_done {
            return Ok(());
        }
        conn.await.map_err(|e| match e.is_timeout() {
            true => Error::HttpResponseTimeout,
            false => Error::from(e),
        })
    });
    Ok((response, io))
}

/// A TLS handshake error as the wasi:http error code a guest can act on.
fn tls_error(e: std::io::Error) -> Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(
            rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::UnsupportedNameType,
        ) => Error::TlsCertificateError,
        Some(rustls::Error::AlertReceived(alert)) => Error::TlsAlertReceived {
            alert_id: Some(u8::from(*alert)),
            alert_message: Some(format!("{alert:?}")),
        },
        Some(_) => Error::TlsProtocolError,
        None => Error::Tls(e),
    }
}

/// A response body that fails `connection-read-timeout` when no frame
/// arrives within `wait` of the last one.
struct Paced {
    inner: hyper::body::Incoming,
    wait: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Body for Paced {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let next = tokio::time::Instant::now() + this.wait;
                this.deadline.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(match e.is_timeout() {
                true => Error::HttpResponseTimeout,
                false => Error::from(e),
            }))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
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
