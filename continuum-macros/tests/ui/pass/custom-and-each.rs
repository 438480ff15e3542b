use std::collections::BTreeMap;

use continuum_runtime::prelude::*;

fn even(n: &u32) -> Result<(), String> {
    if n % 2 == 0 { Ok(()) } else { Err(format!("{n} is odd")) }
}

fn no_admin(s: &str) -> Result<(), &'static str> {
    if s == "admin" { Err("`admin` is reserved") } else { Ok(()) }
}

#[continuum_event("test.custom")]
pub struct Custom {
    #[event(custom = even)]
    pub count: u32,
    #[event(each(custom = no_admin, length(max = 5)))]
    pub users: Vec<String>,
    #[event(each(each(range(max = 9))))]
    pub grid: Vec<Vec<u8>>,
    #[event(each(pattern = "^[0-9]+$"))]
    pub codes: BTreeMap<String, String>,
    #[event(each(length(min = 1)))]
    pub maybe_names: Option<Vec<String>>,
}

fn main() {
    let ev = Custom {
        count: 3,
        users: vec!["ann".into(), "admin".into(), "toolongname".into()],
        grid: vec![vec![1, 2], vec![3, 10]],
        codes: BTreeMap::from([("a b".to_string(), "12".to_string()), ("x".to_string(), "1x".to_string())]),
        maybe_names: Some(vec![String::new()]),
    };
    let issues = ev.validate().unwrap_err();
    let got: Vec<(&str, &str)> = issues.issues().iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
    assert_eq!(
        got,
        [
            ("count", "custom"),
            ("users[1]", "custom"),
            ("users[2]", "length"),
            ("grid[1][1]", "range"),
            ("codes.x", "pattern"),
            ("maybeNames[0]", "length"),
        ]
    );
    assert_eq!(issues.issues()[0].message, "3 is odd");
}
