//! Reading a request head: `httparse` over the bytes read so far, and the
//! decision of what answers it — this path (a bodiless HTTP/1.1 `GET`, a
//! `POST` with a small declared body), hyper (anything else), or a `400`.

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderName, HeaderValue, Method, Request, Uri, Version};
use http_body_util::Full;

use super::{MAX_BODY, MAX_HEADERS};

/// A parsed request this path answers.
pub(crate) struct Parsed {
    pub(crate) request: Request<Full<Bytes>>,
    /// Length of the head in the buffer.
    pub(crate) len: usize,
    /// Declared length of the body that follows the head.
    pub(crate) body_len: usize,
    /// `Connection: close`: close once the response is written.
    pub(crate) close: bool,
}

pub(crate) enum Head {
    /// The client closed (or shutdown began) before sending a request.
    Closed,
    /// For hyper, with the bytes read so far (left in the buffer).
    Other,
    /// Not a request head, or one that never ended: answered `400` here
    /// (the error code and why) and closed.
    Malformed(&'static str, String),
    Request(Box<Parsed>),
}

/// What to do with a head that never ended: nothing was sent, close; the
/// start of an HTTP/2 preface, close (an HTTP/1.1 answer would be noise to
/// an HTTP/2 client); anything else is answered `400`, so a client with a
/// broken head learns why instead of seeing the connection drop.
pub(crate) fn unfinished(buf: &[u8], why: String) -> Head {
    if buf.iter().all(|b| b.is_ascii_whitespace()) || H2_PREFACE.starts_with(buf) {
        Head::Closed
    } else {
        Head::Malformed("incomplete_request", why)
    }
}

pub(crate) enum Parse {
    Partial,
    Other,
    /// Not an HTTP/1.x request head (httparse's reason).
    Malformed(httparse::Error),
    Request(Box<Parsed>),
}

/// The HTTP/2 connection preface (RFC 9113, section 3.4).
pub(crate) const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Parse a request head; answered here are HTTP/1.1 `GET`s without a body
/// and `POST`s with a `content-length` of at most `body_limit`.
pub(crate) fn parse(buf: &[u8], body_limit: usize) -> Parse {
    // The start of an HTTP/2 preface is read here until it is whole, under
    // the header timeout. Handed to hyper earlier (httparse refuses it from
    // `PRI * HTTP/2` on), it would wait in hyper-util's protocol detection,
    // which reads until it has all 24 bytes with no timeout of its own: a
    // client that sent 12 to 23 of them held the connection forever.
    if buf.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(buf) {
        return Parse::Partial;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parse::Partial,
        // More headers than parsed here: hyper reads up to 100.
        Err(httparse::Error::TooManyHeaders) => return Parse::Other,
        Err(_) if buf.starts_with(H2_PREFACE) => return Parse::Other,
        Err(why) => return Parse::Malformed(why),
    };
    let method = match req.method {
        Some("GET") => Method::GET,
        Some("POST") => Method::POST,
        _ => return Parse::Other,
    };
    if req.version != Some(1) {
        return Parse::Other;
    }
    let Some(Ok(uri)) = req.path.map(Uri::try_from) else {
        return Parse::Other;
    };
    // A GET or POST names a path (`/api/events`) or, from a proxy, an
    // absolute URL (`*` is left to routing: no such route, `404`); `Uri`
    // also takes an authority (`example.com:80`, for CONNECT) or any bare
    // word, which would be routed as if it were `/`.
    // (Found by fuzzing: `GET s=ai.task.*&x=1 HTTP/1.1`.)
    if !(req.path.is_some_and(|p| p.starts_with('/') || p == "*") || uri.scheme().is_some()) {
        return Parse::Malformed(httparse::Error::Token);
    }
    let mut request = Request::new(Full::default());
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    let mut close = false;
    let mut body_len = None;
    let map = request.headers_mut();
    map.reserve(req.headers.len());
    for h in req.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) else {
            return Parse::Other;
        };
        if name == TRANSFER_ENCODING || name == UPGRADE || name == EXPECT {
            return Parse::Other;
        }
        if name == CONTENT_LENGTH {
            let declared = std::str::from_utf8(h.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok());
            match (declared, body_len) {
                (Some(n), None) => body_len = Some(n),
                // Unparsable or repeated: hyper decides.
                _ => return Parse::Other,
            }
        }
        if name == CONNECTION
            && value
                .as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
        {
            close = true;
        }
        map.append(name, value);
    }
    let body_len = body_len.unwrap_or(0);
    match method {
        Method::GET if body_len == 0 => {}
        // A declared length over the limit goes to hyper: the service answers
        // `413` without reading the body, and hyper deals with the rest.
        Method::POST if body_len <= body_limit && body_len <= MAX_BODY => {}
        _ => return Parse::Other,
    }
    Parse::Request(Box::new(Parsed {
        request,
        len,
        body_len,
        close,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(head: &str) -> Box<Parsed> {
        match parse(head.as_bytes(), 1024) {
            Parse::Request(p) => p,
            Parse::Partial => panic!("partial: {head}"),
            Parse::Other => panic!("other: {head}"),
            Parse::Malformed(why) => panic!("malformed ({why}): {head}"),
        }
    }

    #[test]
    fn an_absolute_url_from_a_proxy_is_answered_here() {
        let p = get(
            "GET http://example.com/api/events?types=a.* HTTP/1.1\r\nHost: example.com\r\n\r\n",
        );
        assert_eq!(p.request.uri().path(), "/api/events");
    }

    #[test]
    fn bodiless_http11_get_is_answered_here() {
        let p =
            get("GET /api/events?types=a.* HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\nrest");
        assert_eq!(
            p.len,
            "GET /api/events?types=a.* HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\n".len()
        );
        assert_eq!(p.request.uri().path(), "/api/events");
        assert_eq!(p.request.uri().query(), Some("types=a.*"));
        assert_eq!(p.request.headers()["last-event-id"], "7");
        assert!(!p.close);
        assert!(get("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n").close);
    }

    #[test]
    fn everything_else_goes_to_hyper() {
        let post = get("POST /api/events HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}");
        assert_eq!((post.len, post.body_len), (48, 2));
        assert_eq!(post.request.method(), Method::POST);
        for head in [
            "POST /api/events HTTP/1.1\r\ncontent-length: 2000\r\n\r\n",
            "POST /api/events HTTP/1.1\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\n",
            "POST /api/events HTTP/1.1\r\ncontent-length: +2\r\n\r\n",
            "POST /api/events HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
            "OPTIONS /api/events HTTP/1.1\r\n\r\n",
            "HEAD /api/events HTTP/1.1\r\n\r\n",
            "GET /api/events HTTP/1.0\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
            "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
            "GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        ] {
            assert!(
                matches!(parse(head.as_bytes(), 1024), Parse::Other),
                "{head}"
            );
        }
        assert!(matches!(
            parse(b"GET /api/events HTTP/1.1\r\nHost", 1024),
            Parse::Partial
        ));
    }

    #[test]
    fn a_head_that_is_not_http_is_refused_here() {
        for head in [
            "G\x01T / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost x\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
            "GET / HTTP/9.1\r\n\r\n",
            "hello\r\n\r\n",
            // Fuzz finding (h1_head): a request target that is not a path.
            "GET s=ai.task.*&last0ventId=abc HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET example.com:80 HTTP/1.1\r\n\r\n",
            "POST s HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
        ] {
            assert!(
                matches!(parse(head.as_bytes(), 1024), Parse::Malformed(_)),
                "{head:?}"
            );
        }
        // More headers than parsed here: hyper's (it reads up to 100).
        let many: String = (0..60).map(|i| format!("X-{i}: y\r\n")).collect();
        let head = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert!(matches!(parse(head.as_bytes(), 1024), Parse::Other));
        // A head that never ended: answered unless it is nothing or an HTTP/2 start.
        assert!(matches!(unfinished(b"", String::new()), Head::Closed));
        assert!(matches!(unfinished(b"\r\n", String::new()), Head::Closed));
        assert!(matches!(
            unfinished(b"PRI * HTTP/2", String::new()),
            Head::Closed
        ));
        assert!(matches!(
            unfinished(b"GET / HTTP/1.1\r\nHost: x\r\n", String::new()),
            Head::Malformed("incomplete_request", _)
        ));
    }

    #[test]
    fn a_partial_http2_preface_is_read_here_until_whole() {
        for cut in 1..H2_PREFACE.len() {
            assert!(
                matches!(parse(&H2_PREFACE[..cut], 1024), Parse::Partial),
                "{cut} bytes"
            );
        }
        assert!(matches!(parse(H2_PREFACE, 1024), Parse::Other));
        assert!(matches!(
            parse(b"PRI * HTTP/2.0\r\nX", 1024),
            Parse::Malformed(_)
        ));
    }
}
