use continuum_runtime::prelude::*;

#[derive(Payload, Debug, PartialEq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    LowPriority,
    #[serde(rename = "urgent!")]
    High,
}

/// Wire names follow the user's serde attributes everywhere.
#[continuum_event("test.renames", deny_unknown_fields = false)]
#[serde(rename_all = "kebab-case")]
pub struct Renames {
    #[event(length(min = 2))]
    pub user_name: String,
    #[serde(rename = "LVL")]
    pub level: Level,
    #[serde(default)]
    #[event(range(min = 1))]
    pub retry_count: u32,
    #[serde(skip)]
    pub cache: Vec<u8>,
}

fn main() {
    let s = Renames::schema().payload.unwrap();
    let names: Vec<&str> = s.fields.iter().map(|f| f.name).collect();
    assert_eq!(names, ["user-name", "LVL", "retry-count"]);
    assert!(!s.fields[2].required);
    assert!(!s.deny_unknown_fields);
    let ev: Renames = serde_json::from_str(r#"{"user-name":"x","LVL":"LOW_PRIORITY","extra":true}"#).unwrap();
    let issues = ev.validate().unwrap_err();
    let paths: Vec<&str> = issues.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["user-name", "retry-count"]);
    assert_eq!(serde_json::to_string(&Level::High).unwrap(), r#""urgent!""#);
    let schema = continuum_runtime::json_schema::json_schema(Renames::schema());
    assert_eq!(schema["$defs"]["Level"]["enum"][0], "LOW_PRIORITY");
}
