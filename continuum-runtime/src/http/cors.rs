//! CORS for `EventSource` with `withCredentials: true` and for browser ingest.
//!
//! An allowed origin is echoed back with `access-control-allow-credentials:
//! true` (what a credentialed `EventSource` requires); a configured `*`
//! answers `access-control-allow-origin: *` *without* credentials, because
//! browsers reject that pair; any other origin gets no CORS headers at all, so
//! the browser blocks the response. Every response carries `vary: origin`
//! whenever the answer depends on the origin, so caches never mix them up.

use http::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, ALLOW, ORIGIN, VARY,
};
use http::{Response, StatusCode};

use super::body::ResponseBody;
use super::error::ALLOWED_METHODS;

/// The request headers a browser may send cross-origin: the ingest body's type,
/// the SSE resume header, the ingest token and the idempotency key.
const ALLOW_HEADERS: &str = "content-type, last-event-id, x-continuum-event-key, idempotency-key";
/// The methods a preflight may ask for.
const ALLOW_METHODS: &str = "GET, POST";
/// How long a browser may cache a preflight answer, in seconds.
const MAX_AGE: &str = "600";

/// The origin policy of one service.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cors {
    /// Allowed origins, lowercased, without a trailing `/`.
    origins: Vec<String>,
    /// `*` was configured: any origin, never with credentials.
    any: bool,
}

/// What the policy says about one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No `Origin` header, or no origins configured: not a CORS matter.
    NotCors,
    /// Echo this origin, with credentials.
    Echo(HeaderValue),
    /// `*` is configured: answer `*`, without credentials.
    Any,
    /// The origin is not allowed: send no CORS headers.
    Denied,
}

impl Cors {
    /// A policy from configured origins such as `https://app.example.com`;
    /// `*` allows any origin without credentials.
    pub(crate) fn new<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut cors = Cors::default();
        for origin in origins {
            let origin = origin.as_ref().trim().trim_end_matches('/');
            if origin == "*" {
                cors.any = true;
            } else if !origin.is_empty() {
                cors.origins.push(origin.to_ascii_lowercase());
            }
        }
        cors
    }

    fn is_configured(&self) -> bool {
        self.any || !self.origins.is_empty()
    }

    pub(crate) fn verdict(&self, headers: &HeaderMap) -> Verdict {
        let Some(origin) = headers.get(ORIGIN) else {
            return Verdict::NotCors;
        };
        if !self.is_configured() {
            return Verdict::NotCors;
        }
        let listed = origin
            .to_str()
            .map(|o| {
                self.origins
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(o))
            })
            .unwrap_or(false);
        if listed {
            Verdict::Echo(origin.clone())
        } else if self.any {
            Verdict::Any
        } else {
            Verdict::Denied
        }
    }

    /// Add the CORS headers for a normal (non-preflight) response.
    pub(crate) fn apply(&self, request: &HeaderMap, response: &mut HeaderMap) {
        if !self.is_configured() {
            return;
        }
        // The answer depends on the origin unless it is `*` for everyone.
        if !self.origins.is_empty() {
            response.append(VARY, HeaderValue::from_static("origin"));
        }
        match self.verdict(request) {
            Verdict::Echo(origin) => {
                response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                response.insert(
                    ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
            Verdict::Any => {
                response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            }
            Verdict::NotCors | Verdict::Denied => {}
        }
    }

    /// Answer an `OPTIONS` request: a CORS preflight when it is one, else the
    /// list of methods.
    pub(crate) fn options(&self, request: &HeaderMap) -> Response<ResponseBody> {
        let mut res = Response::new(ResponseBody::empty());
        *res.status_mut() = StatusCode::NO_CONTENT;
        let headers = res.headers_mut();
        headers.insert(ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
        let preflight =
            request.contains_key(ORIGIN) && request.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
        if !preflight || !self.is_configured() {
            return res;
        }
        headers.insert(
            VARY,
            HeaderValue::from_static(
                "origin, access-control-request-method, access-control-request-headers",
            ),
        );
        let (origin, credentials) = match self.verdict(request) {
            Verdict::Echo(origin) => (origin, true),
            Verdict::Any => (HeaderValue::from_static("*"), false),
            Verdict::NotCors | Verdict::Denied => return res,
        };
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if credentials {
            headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_origin(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        h
    }

    #[test]
    fn allowed_origin_is_echoed_with_credentials() {
        let cors = Cors::new(["https://app.example.com/"]);
        let mut out = HeaderMap::new();
        cors.apply(&with_origin("https://app.example.com"), &mut out);
        assert_eq!(out[ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
        assert_eq!(out[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(out[VARY], "origin");
    }

    #[test]
    fn other_origin_gets_no_cors_headers() {
        let cors = Cors::new(["https://app.example.com"]);
        let mut out = HeaderMap::new();
        cors.apply(&with_origin("https://evil.example.com"), &mut out);
        assert!(!out.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(!out.contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS));
        assert_eq!(out[VARY], "origin");
    }

    #[test]
    fn star_never_comes_with_credentials() {
        let cors = Cors::new(["*"]);
        let mut out = HeaderMap::new();
        cors.apply(&with_origin("https://any.example.com"), &mut out);
        assert_eq!(out[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(!out.contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS));
        let mut pre = with_origin("https://any.example.com");
        pre.insert(
            ACCESS_CONTROL_REQUEST_METHOD,
            HeaderValue::from_static("POST"),
        );
        let res = cors.options(&pre);
        assert_eq!(res.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(!res.headers().contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS));
    }

    #[test]
    fn unconfigured_policy_adds_nothing() {
        let cors = Cors::new(Vec::<String>::new());
        let mut out = HeaderMap::new();
        cors.apply(&with_origin("https://app.example.com"), &mut out);
        assert!(out.is_empty());
    }
}
