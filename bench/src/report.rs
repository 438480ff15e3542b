//! Turn the load generator's JSON lines into a markdown table: per scenario and
//! metric, each server's median with the min–max spread over its runs, and the ratio
//! of Continuum's median to the baseline's.
//!
//! ```
//! let lines = r#"{"scenario":"S1","server":"baseline","deliveries_per_sec":100.0}
//! {"scenario":"S1","server":"continuum","deliveries_per_sec":250.0}"#;
//! let table = continuum_bench::report::report(lines).unwrap();
//! assert!(table.contains("| S1 | deliveries/s | 100 (100–100) | 250 (250–250) | 2.50 |"));
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

/// Metrics in table order: JSON key and label.
const METRICS: &[(&str, &str)] = &[
    ("deliveries_per_sec", "deliveries/s"),
    ("accepted_per_sec", "accepted POST events/s"),
    ("rss_per_sub_kib", "server KiB per idle subscriber"),
    ("lost", "lost"),
    ("resets", "resets"),
    ("p50_us", "p50 latency µs"),
    ("p99_us", "p99 latency µs"),
    ("p999_us", "p999 latency µs"),
    ("max_us", "max latency µs"),
    ("server_cpu_secs", "server CPU s"),
    ("server_cpu_ns_per_delivery", "server CPU ns/delivery"),
    ("server_cpu_ns_per_event", "server CPU ns/published event"),
    ("loadgen_cpu_secs", "loadgen CPU s"),
    ("softirq_cpu_secs", "softirq CPU s (loopback TCP)"),
    ("other_cpu_secs", "other processes' CPU s"),
    ("window_secs", "window s"),
    ("publish_per_sec", "publish rate/s"),
    ("connect_secs", "connect s"),
];

/// The metrics worth a row in each scenario of issue 5; other scenarios show all.
fn metrics_for(scenario: &str) -> Option<&'static [&'static str]> {
    Some(match scenario {
        "S1" | "S2" | "S3" => &[
            "deliveries_per_sec",
            "lost",
            "resets",
            "p99_us",
            "server_cpu_secs",
            "server_cpu_ns_per_delivery",
            "loadgen_cpu_secs",
            "softirq_cpu_secs",
            "other_cpu_secs",
            "window_secs",
        ],
        "S4" => &["rss_per_sub_kib", "connect_secs", "loadgen_cpu_secs"],
        "S5" => &[
            "p50_us",
            "p99_us",
            "p999_us",
            "max_us",
            "lost",
            "server_cpu_secs",
            "loadgen_cpu_secs",
            "other_cpu_secs",
        ],
        "X1" | "X2" | "X3" => &[
            "deliveries_per_sec",
            "accepted_per_sec",
            "lost",
            "resets",
            "p50_us",
            "p99_us",
            "p999_us",
            "max_us",
            "server_cpu_secs",
            "window_secs",
        ],
        "S6" => &[
            "accepted_per_sec",
            "deliveries_per_sec",
            "lost",
            "server_cpu_secs",
            "server_cpu_ns_per_event",
            "loadgen_cpu_secs",
            "other_cpu_secs",
        ],
        _ => return None,
    })
}

/// Median, min and max of `values` (which must not be empty).
pub fn summarize(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    (median, values[0], values[n - 1])
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Build the table from JSON lines (one run per line; blank lines ignored).
pub fn report(jsonl: &str) -> Result<String, serde_json::Error> {
    // scenario -> server -> runs
    let mut runs: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)?;
        let scenario = v["scenario"].as_str().unwrap_or("?").to_owned();
        let server = v["server"].as_str().unwrap_or("?").to_owned();
        runs.entry(scenario)
            .or_default()
            .entry(server)
            .or_default()
            .push(v);
    }
    let mut out = String::new();
    for (scenario, by_server) in &runs {
        let mut servers: Vec<&String> = by_server.keys().collect();
        servers.sort_by_key(|s| match s.as_str() {
            "baseline" => 0,
            "continuum" => 1,
            _ => 2,
        });
        // Continuum against the baseline; in the cross-node scenarios, two
        // nodes over Redis against one in-memory node.
        let has = |s: &str| by_server.contains_key(s);
        let pair = if has("baseline") && has("continuum") {
            Some(("continuum", "baseline"))
        } else if has("continuum") && has("continuum-redis") {
            Some(("continuum-redis", "continuum"))
        } else {
            None
        };
        let ratio = pair.is_some();
        out.push_str(&format!("\n### {scenario}\n\n| scenario | metric |"));
        for s in &servers {
            let n = by_server[*s].len();
            let errors = by_server[*s]
                .iter()
                .filter(|v| v.get("error").is_some())
                .count();
            if errors > 0 {
                out.push_str(&format!(" {s} (runs: {n}, failed: {errors}) |"));
            } else {
                out.push_str(&format!(" {s} (runs: {n}) |"));
            }
        }
        if let Some((num, den)) = pair {
            out.push_str(&format!(" {num} / {den} |"));
        }
        out.push_str("\n|---|---|");
        for _ in &servers {
            out.push_str("---|");
        }
        if ratio {
            out.push_str("---|");
        }
        out.push('\n');
        let wanted = metrics_for(scenario);
        for (key, label) in METRICS {
            if wanted.is_some_and(|w| !w.contains(key)) {
                continue;
            }
            let mut medians = BTreeMap::new();
            let mut cells = Vec::new();
            for s in &servers {
                let mut values: Vec<f64> = by_server[*s]
                    .iter()
                    .filter_map(|v| v.get(*key)?.as_f64())
                    .collect();
                if values.is_empty() {
                    cells.push("–".to_owned());
                    continue;
                }
                let (median, min, max) = summarize(&mut values);
                medians.insert(s.as_str(), median);
                cells.push(format!(
                    "{} ({}–{})",
                    fmt_num(median),
                    fmt_num(min),
                    fmt_num(max)
                ));
            }
            if medians.is_empty() {
                continue;
            }
            out.push_str(&format!("| {scenario} | {label} |"));
            for c in cells {
                out.push_str(&format!(" {c} |"));
            }
            if let Some((num, den)) = pair {
                match (medians.get(num), medians.get(den)) {
                    (Some(c), Some(b)) if *b != 0.0 => out.push_str(&format!(" {:.2} |", c / b)),
                    _ => out.push_str(" – |"),
                }
            }
            out.push('\n');
        }
    }
    Ok(out)
}

/// [`report`] on the contents of a file.
pub fn report_file(path: &str) -> Result<String, Box<dyn std::error::Error>> {
    Ok(report(&std::fs::read_to_string(path)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(summarize(&mut [3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(summarize(&mut [4.0, 1.0, 2.0, 3.0]), (2.5, 1.0, 4.0));
    }
}
