//! The report: one Markdown table of medians and ratios (rows = workload × engine × size,
//! columns = the floors, the peers, strata, and strata's ratios), the targets
//! checked (against the floor; the bookkept floor's figure is shown beside it), and a
//! detail table with the spread of every cell.

use crate::tools::{Cell, Engine, Tool, Workload};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    pub workload: Workload,
    pub engine: Engine,
    pub n: usize,
}

impl RowKey {
    pub fn label(&self) -> String {
        format!("{} · {} · {}", self.workload.label(), self.engine.label(), thousands(self.n))
    }

    pub fn slug(&self) -> String {
        format!("{}-{}-{}", self.workload.slug(), self.engine.slug(), self.n)
    }
}

/// Every timed run, by row and column.
#[derive(Debug, Default)]
pub struct Results {
    cells: BTreeMap<(RowKey, Tool), Vec<f64>>,
}

impl Results {
    /// Adds runs (seconds) to a cell.
    pub fn add(&mut self, row: RowKey, tool: Tool, times: &[f64]) {
        self.cells.entry((row, tool)).or_default().extend_from_slice(times);
    }

    fn median(&self, row: RowKey, tool: Tool) -> Option<f64> {
        self.cells.get(&(row, tool)).map(|times| median(times))
    }

    /// A cell's runs (none when it was not measured).
    fn runs(&self, row: RowKey, tool: Tool) -> &[f64] {
        self.cells.get(&(row, tool)).map_or(&[], Vec::as_slice)
    }

    /// The main table, in Markdown.
    pub fn table(&self, rows: &[RowKey]) -> String {
        let mut out = String::new();
        let headers: Vec<&str> = Tool::ALL.iter().map(|t| t.header()).collect();
        let _ = writeln!(
            out,
            "| workload · engine · migrations | {} | strata / floor | strata / bookkept | strata / best peer | targets |",
            headers.join(" | ")
        );
        let _ = writeln!(out, "|---|{}---|---|", "---:|".repeat(Tool::ALL.len() + 2));
        for &row in rows {
            let cells: Vec<String> = Tool::ALL
                .iter()
                .map(|&tool| match tool.command(row.workload) {
                    Cell::Runs(_) => self.median(row, tool).map_or("?".into(), human),
                    Cell::Unsupported => "n/a".into(),
                    Cell::Absent => "—".into(),
                })
                .collect();
            let Verdict { versus_floor, versus_bookkept, versus_peer, targets } = self.verdict(row);
            let _ = writeln!(
                out,
                "| {} | {} | {versus_floor} | {versus_bookkept} | {versus_peer} | {targets} |",
                row.label(),
                cells.join(" | ")
            );
        }
        out
    }

    /// strata against the floor, the bookkept floor and the best peer, and the targets
    /// for `row`.
    fn verdict(&self, row: RowKey) -> Verdict {
        let floor_tool = row.workload.floor();
        let (Some(strata), Some(floor)) = (self.median(row, Tool::Strata), self.median(row, floor_tool))
        else {
            return Verdict {
                versus_floor: "?".into(),
                versus_bookkept: "?".into(),
                versus_peer: "?".into(),
                targets: "?".into(),
            };
        };
        let bookkept_tool = row.workload.bookkept_floor();
        let bookkept = self.median(row, bookkept_tool);
        // Upgrade and downgrade as a ratio, the start-up checks as the time over it.
        let over_bookkept = |b: f64| match row.workload {
            Workload::Upgrade | Workload::Downgrade => format!("{:.2}x", strata / b),
            Workload::Pending | Workload::Current => format!("{:+.2} ms", (strata - b) * 1e3),
        };
        let versus_bookkept = bookkept.map_or_else(|| "?".to_string(), over_bookkept);
        let mut named: Vec<String> = bookkept
            .map(|b| format!("{} {}", over_bookkept(b), bookkept_tool.header()))
            .into_iter()
            .collect();
        // Where the build without the SQL parser ran, what it measured over the same floor: the
        // share of a start-up miss that is the parser's presence in the binary.
        if let Some(lean) = self.median(row, Tool::StrataNoSqlLint) {
            named.push(format!("{}: {:+.2} ms", Tool::StrataNoSqlLint.header(), (lean - floor) * 1e3));
        }
        let beside = if named.is_empty() { String::new() } else { format!(" ({})", named.join("; ")) };
        let mut missed = Vec::new();
        // The checks whose verdict the runs do not settle: the bootstrap interval of the
        // figure holds the threshold.
        let mut unsettled = Vec::new();
        let (strata_runs, floor_runs) = (self.runs(row, Tool::Strata), self.runs(row, floor_tool));
        let versus_floor = match row.workload {
            Workload::Upgrade | Workload::Downgrade => {
                let ratio = strata / floor;
                if ratio > 1.1 {
                    // The target is the floor; what a tool with the same bookkeeping
                    // achieves is shown beside it.
                    missed.push(format!("{ratio:.2}x floor > 1.1x{beside}"));
                }
                if let Some((low, high)) = ratio_interval(strata_runs, floor_runs) {
                    if low <= 1.1 && 1.1 < high {
                        unsettled.push(format!("strata / floor {low:.2}-{high:.2}x"));
                    }
                }
                format!("{ratio:.2}x")
            }
            Workload::Pending | Workload::Current => {
                let extra = (strata - floor) * 1e3;
                if extra > 1.0 {
                    missed.push(format!("+{extra:.2} ms > +1 ms{beside}"));
                }
                if let Some((low, high)) = difference_interval(strata_runs, floor_runs) {
                    let (low, high) = (low * 1e3, high * 1e3);
                    if low <= 1.0 && 1.0 < high {
                        unsettled.push(format!("strata - floor {low:+.2} to {high:+.2} ms"));
                    }
                }
                format!("{extra:+.2} ms ({:.2}x)", strata / floor)
            }
        };
        let best = Tool::ALL
            .iter()
            .filter(|t| t.is_peer())
            .filter_map(|&t| Some((t, self.median(row, t)?)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let versus_peer = match best {
            Some((peer, time)) => {
                let ratio = strata / time;
                if ratio >= 1.0 {
                    missed.push(format!("behind {}", peer.header()));
                }
                if let Some((low, high)) = ratio_interval(strata_runs, self.runs(row, peer)) {
                    if low < 1.0 && 1.0 <= high {
                        unsettled.push(format!("strata / {} {low:.2}-{high:.2}x", peer.header()));
                    }
                }
                format!("{ratio:.2}x ({})", peer.header())
            }
            None => "—".into(),
        };
        let mut targets =
            if missed.is_empty() { "met".to_string() } else { format!("missed: {}", missed.join("; ")) };
        if !unsettled.is_empty() {
            targets.push_str(&format!("; not settled by the runs (95% interval): {}", unsettled.join(", ")));
        }
        Verdict { versus_floor, versus_bookkept, versus_peer, targets }
    }

    /// Every cell's spread, in Markdown.
    pub fn details(&self) -> String {
        let mut out =
            String::from("| cell | runs | median | mean ± σ | min | max |\n|---|---:|---:|---:|---:|---:|\n");
        for ((row, tool), times) in &self.cells {
            let mean = times.iter().sum::<f64>() / times.len() as f64;
            let sigma = (times.iter().map(|t| (t - mean).powi(2)).sum::<f64>()
                / times.len().max(2).saturating_sub(1) as f64)
                .sqrt();
            let min = times.iter().copied().fold(f64::INFINITY, f64::min);
            let max = times.iter().copied().fold(0.0, f64::max);
            let _ = writeln!(
                out,
                "| {} · {} | {} | {} | {} ± {} | {} | {} |",
                row.label(),
                tool.header(),
                times.len(),
                human(median(times)),
                human(mean),
                human(sigma),
                human(min),
                human(max)
            );
        }
        out
    }
}

/// A row's ratios and targets, as the table shows them.
struct Verdict {
    versus_floor: String,
    versus_bookkept: String,
    versus_peer: String,
    targets: String,
}

/// The median of `times` (not empty).
pub fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.is_empty() {
        f64::NAN
    } else if !sorted.len().is_multiple_of(2) {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// How many resamples [`ratio_interval`] and [`difference_interval`] draw.
pub const RESAMPLES: usize = 2000;

/// The 95% percentile-bootstrap interval of `median(a) / median(b)`: each cell's runs resampled
/// with replacement, the ratio of the resamples' medians taken [`RESAMPLES`] times. `None`
/// with fewer than two runs on either side. Deterministic (a fixed seed), so a report read
/// twice says the same.
pub fn ratio_interval(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    interval(a, b, |x, y| x / y)
}

/// [`ratio_interval`] for `median(a) - median(b)`.
pub fn difference_interval(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    interval(a, b, |x, y| x - y)
}

fn interval(a: &[f64], b: &[f64], statistic: impl Fn(f64, f64) -> f64) -> Option<(f64, f64)> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let mut random = SplitMix64(0x5eed_0000 ^ ((a.len() as u64) << 32) ^ b.len() as u64);
    let mut resample = |runs: &[f64], into: &mut Vec<f64>| {
        into.clear();
        into.extend((0..runs.len()).map(|_| runs[random.below(runs.len())]));
        median(into)
    };
    let (mut x, mut y) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    let mut values: Vec<f64> =
        (0..RESAMPLES).map(|_| statistic(resample(a, &mut x), resample(b, &mut y))).collect();
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Some((at(0.025), at(0.975)))
}

/// A small, seedable pseudo-random generator (SplitMix64): enough for resampling, and no
/// dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0; the modulo bias is nothing at these sizes).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Seconds as a person reads them: `0.94 ms`, `8.31 ms`, `812 ms`, `2.47 s`.
pub fn human(seconds: f64) -> String {
    let ms = seconds * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{seconds:.2} s")
    }
}

/// `1000` → `1,000`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_targets() {
        let mut results = Results::default();
        let up = RowKey { workload: Workload::Upgrade, engine: Engine::Sqlite, n: 100 };
        results.add(up, Tool::RawPerStatement, &[1.0, 1.2, 0.9]);
        results.add(up, Tool::Strata, &[1.05]);
        results.add(up, Tool::Sqlx, &[2.0]);
        results.add(up, Tool::Refinery, &[1.5]);
        let current = RowKey { workload: Workload::Current, engine: Engine::Postgres, n: 1000 };
        results.add(current, Tool::Select1, &[0.002]);
        results.add(current, Tool::Strata, &[0.0035]);
        results.add(current, Tool::Sqlx, &[0.003]);
        let table = results.table(&[up, current]);
        assert!(table.contains("| upgrade · SQLite · 100 | ? | 1.00 s | ? | — | — | 2.00 s | 1.50 s | 1.05 s | — | 1.05x | ? | 0.70x (refinery) | met |"), "{table}");
        assert!(table.contains("| — | — | — | 2.00 ms | ? | 3.00 ms | ? | 3.50 ms | ? | +1.50 ms (1.75x) | ? | 1.17x (sqlx) | missed: +1.50 ms > +1 ms; behind sqlx |"), "{table}");
        // With the version read measured, the start-up checks name it beside a miss.
        results.add(current, Tool::ReadVersion, &[0.003]);
        let table = results.table(&[current]);
        assert!(table.contains("| 2.00 ms | 3.00 ms | 3.00 ms | ? | 3.50 ms | ? | +1.50 ms (1.75x) | +0.50 ms | 1.17x (sqlx) | missed: +1.50 ms > +1 ms (+0.50 ms connect + read version); behind sqlx |"), "{table}");
        // And the build without the SQL parser, over the same floor; it is no peer.
        results.add(current, Tool::StrataNoSqlLint, &[0.0028]);
        let table = results.table(&[current]);
        assert!(table.contains("| 3.50 ms | 2.80 ms | +1.50 ms (1.75x) | +0.50 ms | 1.17x (sqlx) | missed: +1.50 ms > +1 ms (+0.50 ms connect + read version; strata, no sql-lint: +0.80 ms); behind sqlx |"), "{table}");
    }

    #[test]
    fn the_bookkept_floor_has_its_column_and_is_named_beside_a_missed_target() {
        let mut results = Results::default();
        let down = RowKey { workload: Workload::Downgrade, engine: Engine::Postgres, n: 1000 };
        results.add(down, Tool::RawPerStatement, &[1.0]);
        results.add(down, Tool::RawBookkept, &[1.12]);
        results.add(down, Tool::Strata, &[1.14]);
        results.add(down, Tool::Sqlx, &[1.5]);
        let table = results.table(&[down]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| workload · engine · migrations | raw, one txn | raw, txn per stmt | raw + bookkeeping | \
             connect + SELECT 1 | connect + read version | sqlx | refinery | strata | strata, no sql-lint | strata / floor | \
             strata / bookkept | strata / best peer | targets |"
        );
        // Every row has as many cells as the header, and the separator too.
        let cells = |line: &str| line.matches('|').count();
        assert!(lines.iter().all(|l| cells(l) == cells(lines[0])), "{table}");
        assert_eq!(
            lines[2],
            "| downgrade · PostgreSQL · 1,000 | — | 1.00 s | 1.12 s | — | — | 1.50 s | n/a | 1.14 s | — | 1.14x | 1.02x | \
             0.76x (sqlx) | missed: 1.14x floor > 1.1x (1.02x raw + bookkeeping) |"
        );
        // Without the bookkept floor measured, the target still judges against the floor.
        let mut partial = Results::default();
        partial.add(down, Tool::RawPerStatement, &[1.0]);
        partial.add(down, Tool::Strata, &[1.05]);
        let table = partial.table(&[down]);
        assert!(table.contains("| 1.05 s | — | 1.05x | ? | — | met |"), "{table}");
    }

    #[test]
    fn a_verdict_the_runs_do_not_settle_says_so() {
        let mut results = Results::default();
        let up = RowKey { workload: Workload::Upgrade, engine: Engine::Postgres, n: 100 };
        // Overlapping spreads: strata's median is behind sqlx's, but not by more than the noise.
        results.add(up, Tool::RawPerStatement, &[0.80, 0.82, 0.84, 0.86, 0.88]);
        results.add(up, Tool::Strata, &[0.90, 0.96, 1.01, 1.05, 1.10]);
        results.add(up, Tool::Sqlx, &[0.92, 0.97, 1.00, 1.04, 1.09]);
        let table = results.table(&[up]);
        assert!(
            table.contains(
                "| 1.20x | ? | 1.01x (sqlx) | missed: 1.20x floor > 1.1x; behind sqlx; not settled by the runs \
                 (95% interval): strata / floor 1.07-1.31x, strata / sqlx 0.88-1.13x |"
            ),
            "{table}"
        );
        // Spreads far apart settle it: no note.
        let mut clear = Results::default();
        clear.add(up, Tool::RawPerStatement, &[0.50, 0.51, 0.52, 0.53, 0.54]);
        clear.add(up, Tool::Strata, &[0.52, 0.53, 0.54, 0.55, 0.56]);
        clear.add(up, Tool::Sqlx, &[0.90, 0.91, 0.92, 0.93, 0.94]);
        let table = clear.table(&[up]);
        assert!(table.contains("| 1.04x | ? | 0.59x (sqlx) | met |"), "{table}");
    }

    #[test]
    fn bootstrap_intervals_hold_the_statistic_and_repeat() {
        let a = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6];
        let b = [1.0, 1.0, 1.0, 1.0];
        let (low, high) = ratio_interval(&a, &b).expect("enough runs");
        assert!(low <= 1.3 && 1.3 <= high && low >= 1.0 && high <= 1.6, "{low} {high}");
        assert_eq!(ratio_interval(&a, &b), Some((low, high)), "deterministic");
        let (low, high) = difference_interval(&a, &b).expect("enough runs");
        assert!(low <= 0.3 && 0.3 <= high, "{low} {high}");
        // Identical runs: a point.
        assert_eq!(difference_interval(&b, &b), Some((0.0, 0.0)));
        assert_eq!(ratio_interval(&[1.0], &b), None);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
        assert_eq!(human(0.00094), "0.94 ms");
        assert_eq!(human(0.8123), "812 ms");
        assert_eq!(human(2.4712), "2.47 s");
        assert_eq!(thousands(1000), "1,000");
    }
}
