//! CPU time and memory of a process, read from Linux `/proc`.
//!
//! ```
//! let me = continuum_bench::procfs::Sample::read("self").unwrap();
//! assert!(me.rss_bytes > 0);
//! ```

use std::fs;
use std::io;

/// `USER_HZ`: the unit of `utime`/`stime` in `/proc/<pid>/stat`, 100 on every Linux
/// architecture the benchmark targets.
const TICKS_PER_SEC: f64 = 100.0;

/// One reading of a process's counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// User plus system CPU seconds consumed so far, all threads.
    pub cpu_secs: f64,
    /// Resident set size now, in bytes (`VmRSS`).
    pub rss_bytes: u64,
    /// Peak resident set size, in bytes (`VmHWM`).
    pub hwm_bytes: u64,
}

impl Sample {
    /// Read the counters of `pid` (a number, or `"self"`).
    pub fn read(pid: &str) -> io::Result<Sample> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
        let cpu_secs = parse_cpu(&stat)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable stat"))?;
        Ok(Sample {
            cpu_secs,
            rss_bytes: status_kib(&status, "VmRSS:").unwrap_or(0) * 1024,
            hwm_bytes: status_kib(&status, "VmHWM:").unwrap_or(0) * 1024,
        })
    }
}

/// Whole-machine CPU seconds so far, all cores, from `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineCpu {
    /// Busy in processes: user, nice, system, irq, steal.
    pub process_secs: f64,
    /// Busy in softirq: on loopback, most of TCP's receive path runs here and is
    /// charged to no process.
    pub softirq_secs: f64,
}

impl MachineCpu {
    /// Read `/proc/stat`. Subtracting the server's and the generator's own CPU from
    /// `process_secs` over a window shows how much other processes took.
    pub fn read() -> io::Result<MachineCpu> {
        let stat = fs::read_to_string("/proc/stat")?;
        parse_machine(&stat)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable /proc/stat"))
    }
}

fn parse_machine(stat: &str) -> Option<MachineCpu> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let t: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice: inside user]
    let get = |i: usize| t.get(i).copied().unwrap_or(0) as f64 / TICKS_PER_SEC;
    Some(MachineCpu {
        process_secs: get(0) + get(1) + get(2) + get(5) + get(7),
        softirq_secs: get(6),
    })
}

/// utime + stime (fields 14 and 15) in seconds. The command name (field 2) may
/// contain spaces and parentheses, so fields are counted after its last `)`.
fn parse_cpu(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SEC)
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_tricky_name() {
        let stat = "42 (a) b) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 3 0";
        assert_eq!(parse_cpu(stat), Some(3.0));
        assert_eq!(
            status_kib("Name:\tx\nVmRSS:\t  1234 kB\n", "VmRSS:"),
            Some(1234)
        );
    }
}
