//! The subscribe query (`?types=…&lastEventId=…`) and the type filter:
//! never a panic; every item the filter accepts matches the names it
//! should; through the service, any query is a `200` stream or a `400`
//! `invalid_types` JSON answer.
#![no_main]

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use continuum_runtime::hub::TypeFilter;
use continuum_runtime::Hub;
use libfuzzer_sys::fuzz_target;

fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(|| Hub::builder().build().expect("hub"))
}

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    let (types, _last) = continuum_runtime::__fuzz::subscribe_query(&query);
    if let Some(items) = &types {
        assert!(!items.is_empty());
        if let Ok(filter) = TypeFilter::parse(&items.join(",")) {
            for item in items {
                match item.strip_suffix(".*") {
                    Some(prefix) => assert!(filter.matches(&format!("{prefix}.x")), "{item}"),
                    None => assert!(filter.matches(item), "{item}"),
                }
            }
        }
    }
    let _ = TypeFilter::parse(&query);

    let Ok(uri) = http::Uri::try_from(format!("/api/events?{query}")) else {
        return;
    };
    let req = http::Request::get(uri).body(String::new()).unwrap();
    let mut service = hub().service();
    let mut fut = tower_service::Service::call(&mut service, req);
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(res)) = Pin::new(&mut fut).poll(&mut cx) else {
        panic!("a subscription is answered at once");
    };
    match res.status().as_u16() {
        200 => assert_eq!(res.headers()["content-type"], "text/event-stream"),
        400 => assert_eq!(res.headers()["content-type"], "application/json"),
        s => panic!("status {s}"),
    }
});
