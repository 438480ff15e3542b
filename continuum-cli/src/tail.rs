//! `continuum tail URL`: follow a Continuum server's events in a terminal,
//! one readable line per event, with reconnects and resets shown.
//!
//! ```text
//! $ continuum tail http://127.0.0.1:3000/api/events --types 'ai.task.*'
//! -- connected to http://127.0.0.1:3000/api/events (epoch 0aZ3kQ7b) --
//! 2026-12-04T15:46:47.123Z  0aZ3kQ7b00000000001  ai.task.progress  {"taskId":"gen-1","stage":"prompting","progress":10}
//! -- disconnected: the server ended the stream; reconnecting in 2.3s --
//! -- reconnected (epoch 9xQe1LmP), resuming after 0aZ3kQ7b00000000001 --
//! -- reset (foreign_epoch): state may have changed --
//! ```
//!
//! It subscribes with the runtime's client in untyped mode
//! ([`Client::subscribe_types`]), which reconnects with `Last-Event-ID`
//! after the server's `retry:` (with backoff while the server is down), so
//! nothing is missed silently: what the server cannot replay arrives as a
//! reset line. Events go to stdout; errors go to stderr. Runs until
//! interrupted (exit 0), or until the server refuses the subscription
//! (`401`, `403`, `400`: exit 1). Bad usage exits 2.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use continuum_runtime::client::{Client, ConnectionEvent, Item};
use serde_json::json;

use crate::{usage_error, BREAKS, UNUSABLE};

/// `continuum tail --help`.
pub(crate) const HELP: &str = "\
usage: continuum tail URL [options]

Follow the events of a Continuum server: one line per event (receive time,
id, type, compact data), and a `-- … --` line for every connect, disconnect
and reset. Reconnects with Last-Event-ID, so nothing is missed silently.

URL is the events path, e.g. http://127.0.0.1:3000/api/events (a URL with
no path gets /api/events).

options:
  --types LIST        only these types: comma-separated names or prefix.*
                      (e.g. --types 'ai.task.*,media.upload.done')
  --snapshot          ask for the current state first (adds snapshot=true to
                      the query; for servers that support snapshots)
  --token T           send T as x-continuum-event-key (the server's token)
  -H, --header 'N: V' send a header (repeatable), e.g. -H 'cookie: s=1'
  --last-event-id ID  start after ID (the server replays what followed it)
  --json              one JSON object per line instead: events as
                      {\"kind\":\"event\",\"time\",\"id\",\"type\",\"data\"}; others with
                      kind connected, disconnected, reset or error
  -h, --help          print this help

exit: 0 interrupted, 1 the server refused the subscription, 2 bad usage
";

/// A parsed `tail`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Tail {
    url: String,
    types: Vec<String>,
    snapshot: bool,
    token: Option<String>,
    headers: Vec<(String, String)>,
    last_event_id: Option<String>,
    json: bool,
}

/// Run `continuum tail <args>`.
pub(crate) fn run(args: &[String]) -> ExitCode {
    let tail = match parse(args) {
        Ok(Some(tail)) => tail,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => return usage_error(&message),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("continuum: cannot start: {e}");
            return ExitCode::from(UNUSABLE);
        }
    };
    runtime.block_on(async {
        tokio::select! {
            code = tail.follow() => code,
            _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
        }
    })
}

fn parse(args: &[String]) -> Result<Option<Tail>, String> {
    let mut tail = Tail::default();
    let mut url = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--snapshot" => tail.snapshot = true,
            "--json" => tail.json = true,
            "--types" => tail.types.extend(
                value("--types")?
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            ),
            "--token" => tail.token = Some(value("--token")?),
            "--last-event-id" => tail.last_event_id = Some(value("--last-event-id")?),
            "-H" | "--header" => {
                let header = value("-H")?;
                let (name, v) = header
                    .split_once(':')
                    .ok_or_else(|| format!("`-H {header}`: a header is `name: value`"))?;
                tail.headers
                    .push((name.trim().to_owned(), v.trim().to_owned()));
            }
            other if other.starts_with('-') => return Err(format!("unknown option `{other}`")),
            _ if url.is_some() => return Err(format!("`tail` takes one URL; `{arg}` is a second")),
            _ => url = Some(arg.clone()),
        }
    }
    let url = url.ok_or("`tail` needs the server's URL, e.g. http://127.0.0.1:3000/api/events")?;
    tail.url = events_url(&url, tail.snapshot);
    Ok(Some(tail))
}

/// `/api/events` when the URL has no path; `snapshot=true` added when asked.
fn events_url(url: &str, snapshot: bool) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
    let mut out = if after_scheme.contains('/') && !after_scheme.ends_with('/') {
        base.to_owned()
    } else {
        format!("{}/api/events", base.trim_end_matches('/'))
    };
    let mut params: Vec<&str> = query.into_iter().filter(|q| !q.is_empty()).collect();
    if snapshot {
        params.push("snapshot=true");
    }
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

impl Tail {
    fn client(&self) -> Client {
        let mut client = Client::new(&self.url);
        if let Some(token) = &self.token {
            client = client.token(token);
        }
        for (name, value) in &self.headers {
            client = client.header(name, value);
        }
        client
    }

    async fn follow(&self) -> ExitCode {
        let json = self.json;
        let url = self.url.clone();
        let mut seen_connection = false;
        let mut events = self
            .client()
            .subscribe_types(&self.types)
            .on_connection(move |c| {
                println!("{}", connection_line(c, &url, json, seen_connection));
                seen_connection |= matches!(c, ConnectionEvent::Connected { .. });
            });
        if let Some(id) = &self.last_event_id {
            events = events.last_event_id(id);
        }
        while let Some(item) = events.next().await {
            match item {
                Ok(Item::Event { id, event }) => {
                    let time = now();
                    if json {
                        let line = json!({"kind": "event", "time": time, "id": id.to_string(), "type": event.type_name, "data": event.data});
                        println!("{line}");
                    } else {
                        println!("{time}  {id}  {}  {}", event.type_name, event.data);
                    }
                }
                Ok(Item::Reset(reason)) => {
                    if json {
                        println!(
                            "{}",
                            json!({"kind": "reset", "time": now(), "reason": reason.as_str()})
                        );
                    } else {
                        println!("-- reset ({}): state may have changed --", reason.as_str());
                    }
                }
                Err(e) if e.is_decode() => {
                    // One event the client could not read; the stream goes on.
                    if json {
                        println!(
                            "{}",
                            json!({"kind": "error", "time": now(), "message": e.to_string()})
                        );
                    }
                    eprintln!("continuum: {e}");
                }
                Err(e) => {
                    eprintln!("continuum: {e}");
                    return ExitCode::from(BREAKS);
                }
            }
        }
        ExitCode::from(BREAKS)
    }
}

fn connection_line(c: &ConnectionEvent, url: &str, json: bool, reconnect: bool) -> String {
    match c {
        ConnectionEvent::Connected {
            epoch,
            resumed_after,
            connection_id,
            ..
        } => {
            if json {
                return json!({"kind": "connected", "time": now(), "url": url, "epoch": epoch,
                    "connectionId": connection_id, "resumedAfter": resumed_after, "reconnect": reconnect})
                .to_string();
            }
            let mut line = if reconnect {
                format!("-- reconnected (epoch {epoch})")
            } else {
                format!("-- connected to {url} (epoch {epoch})")
            };
            if let Some(id) = resumed_after {
                let _ = write!(line, ", resuming after {id}");
            }
            line + " --"
        }
        ConnectionEvent::Disconnected {
            reason, retry_in, ..
        } => {
            if json {
                return json!({"kind": "disconnected", "time": now(), "reason": reason,
                    "retryInMs": retry_in.as_millis() as u64})
                .to_string();
            }
            format!(
                "-- disconnected: {reason}; reconnecting in {:.1}s --",
                retry_in.as_secs_f64()
            )
        }
        other => format!("-- {other:?} --"),
    }
}

/// Now, UTC, RFC 3339 with milliseconds (`2026-12-04T15:46:47.123Z`).
fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    rfc3339(since)
}

fn rfc3339(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_parse() {
        let t = parse(&args(&[
            "http://h:1/api/events",
            "--types",
            "a.*, b",
            "--snapshot",
            "--token=s3",
            "-H",
            "cookie: x=1",
            "--json",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(t.url, "http://h:1/api/events?snapshot=true");
        assert_eq!(t.types, ["a.*", "b"]);
        assert_eq!(t.token.as_deref(), Some("s3"));
        assert_eq!(t.headers, [("cookie".to_owned(), "x=1".to_owned())]);
        assert!(t.json);
        assert!(parse(&args(&["--help"])).unwrap().is_none());
        assert!(parse(&args(&[])).is_err());
        assert!(parse(&args(&["http://h", "--types"])).is_err());
        assert!(parse(&args(&["http://h", "-H", "no colon"])).is_err());
        assert!(parse(&args(&["http://h", "--bogus"])).is_err());
    }

    #[test]
    fn urls_get_the_events_path_and_the_snapshot_query() {
        assert_eq!(
            events_url("http://h:3000", false),
            "http://h:3000/api/events"
        );
        assert_eq!(
            events_url("http://h:3000/", false),
            "http://h:3000/api/events"
        );
        assert_eq!(events_url("http://h/x/events", false), "http://h/x/events");
        assert_eq!(
            events_url("http://h/e?a=1", true),
            "http://h/e?a=1&snapshot=true"
        );
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(Duration::from_millis(1_796_399_207_123)),
            "2026-12-04T15:46:47.123Z"
        );
        assert_eq!(
            rfc3339(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
