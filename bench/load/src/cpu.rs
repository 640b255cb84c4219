//! CPU time of this process, of the server under load and of the whole machine, from /proc, so a
//! report can say which side used the cores (100 % = one core busy).

use std::time::Instant;

/// utime + stime in clock ticks from the text of `/proc/<pid>/stat`.
pub fn parse_proc_stat(text: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces and parentheses: fields count after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Busy clock ticks of all cores (everything but idle and iowait) from the text of `/proc/stat`.
pub fn parse_machine_stat(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    let total: u64 = v.iter().take(8).sum();
    Some(total - v.get(3)? - v.get(4).unwrap_or(&0))
}

fn ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

fn proc_ticks(pid: &str) -> Option<u64> {
    parse_proc_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU counters at one instant.
#[derive(Clone, Debug)]
pub struct Snapshot {
    at: Instant,
    client: Option<u64>,
    server: Option<u64>,
    machine: Option<u64>,
}

impl Snapshot {
    /// Reads this process, `server_pid` (when given) and the machine now.
    pub fn take(server_pid: Option<u32>) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            client: proc_ticks("self"),
            server: server_pid.and_then(|p| proc_ticks(&p.to_string())),
            machine: std::fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|t| parse_machine_stat(&t)),
        }
    }

    /// (client, server, machine) CPU % of one core between `self` and `later`.
    pub fn percent_until(&self, later: &Snapshot) -> (Option<f64>, Option<f64>, Option<f64>) {
        let secs = later.at.duration_since(self.at).as_secs_f64();
        let pct = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) if secs > 0.0 && b >= a => Some(crate::stats::round(
                (b - a) as f64 / ticks_per_s() / secs * 100.0,
                2,
            )),
            _ => None,
        };
        (
            pct(self.client, later.client),
            pct(self.server, later.server),
            pct(self.machine, later.machine),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_with_a_strange_name() {
        let line =
            "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 4 0 1 1 1";
        assert_eq!(parse_proc_stat(line), Some(325));
        assert_eq!(parse_proc_stat("garbage"), None);
    }

    #[test]
    fn machine_busy_excludes_idle_and_iowait() {
        let text = "cpu  100 5 50 1000 20 1 2 3 7 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n";
        assert_eq!(parse_machine_stat(text), Some(100 + 5 + 50 + 1 + 2 + 3));
    }

    #[test]
    fn this_process_is_readable() {
        let a = Snapshot::take(Some(std::process::id()));
        let mut x = 0u64;
        for i in 0..3_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = Snapshot::take(Some(std::process::id()));
        let (client, server, machine) = a.percent_until(&b);
        assert!(client.is_some() && server.is_some() && machine.is_some());
    }
}
