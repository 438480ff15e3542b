//! Every standard type a payload field can have, validated and written as
//! serde writes it.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use continuum_runtime::prelude::*;
use serde_json::json;

#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Point {
    #[event(range(min = 0))]
    pub x: i32,
}

#[continuum_event("types.all.demo")]
#[derive(Debug, Clone, PartialEq)]
pub struct AllTypes {
    #[event(range(max = 9))]
    pub boxed: Box<u8>,
    pub boxed_point: Box<Point>,
    #[event(length(max = 3))]
    pub shared: Arc<String>,
    #[event(length(min = 1), pattern = "^[a-z]+$")]
    pub name: Cow<'static, str>,
    #[event(length(max = 2), each(length(min = 1)))]
    pub tags: HashSet<String>,
    #[event(each(range(max = 10)))]
    pub sorted: BTreeSet<u32>,
    pub queue: VecDeque<Point>,
    #[event(each(range(max = 200)))]
    pub rgb: [u8; 3],
    pub points: [Point; 2],
    #[event(range(min = 1))]
    pub big: u128,
    pub signed: i128,
    pub ip: IpAddr,
    pub v4: Ipv4Addr,
    pub v6: Ipv6Addr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maybe_point: Option<Point>,
}

fn main() {
    let ev = AllTypes {
        boxed: Box::new(10),
        boxed_point: Box::new(Point { x: -1 }),
        shared: Arc::new("abcd".into()),
        name: Cow::Borrowed("A"),
        tags: HashSet::from([String::new()]),
        sorted: BTreeSet::from([1, 11]),
        queue: VecDeque::from([Point { x: -2 }]),
        rgb: [0, 201, 0],
        points: [Point { x: 0 }, Point { x: -3 }],
        big: 0,
        signed: -5,
        ip: IpAddr::V6(Ipv6Addr::LOCALHOST),
        v4: Ipv4Addr::LOCALHOST,
        v6: Ipv6Addr::UNSPECIFIED,
        note: None,
        maybe_point: None,
    };
    let paths: Vec<String> = ev.validate().unwrap_err().into_issues().into_iter().map(|i| i.path).collect();
    assert_eq!(
        paths,
        [
            "boxed", "boxedPoint.x", "shared", "name", "tags[0]", "sorted[1]", "queue[0].x",
            "rgb[1]", "points[1].x", "big",
        ]
    );
    let written = serde_json::to_value(&ev).unwrap();
    assert_eq!(written["ip"], json!("::1"));
    assert_eq!(written["v4"], json!("127.0.0.1"));
    assert_eq!(written["big"], json!(0));
    assert_eq!(written["rgb"], json!([0, 201, 0]));
    assert!(written.get("note").is_none() && written.get("maybePoint").is_none());
    // The widest integers are written exactly, as the JSON numbers serde
    // writes, and read back.
    let wide = AllTypes { signed: i128::MIN, big: u128::MAX, ..ev };
    let text = serde_json::to_string(&wide).unwrap();
    assert!(text.contains("\"signed\":-170141183460469231731687303715884105728"));
    assert!(text.contains("\"big\":340282366920938463463374607431768211455"));
    let back: AllTypes = serde_json::from_str(&text).unwrap();
    assert_eq!(back, wide);
}
