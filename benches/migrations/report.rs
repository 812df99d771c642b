//! Results: one row per measurement, each with its reference and target, rendered once as an
//! aligned markdown table that reads the same on a terminal and in `report.md`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// What a measurement must achieve to count as met.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// strata / reference at most this.
    Ratio(f64),
    /// strata − reference at most this.
    Within(Duration),
    /// strata at most this, with no reference.
    AtMost(Duration),
}

/// One measured line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub section: String,
    pub what: String,
    pub strata: Duration,
    /// What strata is compared with: (label, time).
    pub reference: Option<(String, Duration)>,
    /// strata / reference; by default the ratio of the two medians.
    pub ratio: Option<f64>,
    pub goal: Goal,
    /// How the numbers were obtained ("median of 5").
    pub runs: String,
}

impl Row {
    /// A measurement with nothing to compare against.
    pub fn alone(section: &str, what: &str, strata: Duration, goal: Goal, runs: String) -> Row {
        Row { section: section.into(), what: what.into(), strata, reference: None, ratio: None, goal, runs }
    }

    /// A measurement compared with a reference time.
    pub fn against(
        section: &str,
        what: &str,
        strata: Duration,
        reference: (&str, Duration),
        goal: Goal,
        runs: String,
    ) -> Row {
        let ratio = (!reference.1.is_zero()).then(|| strata.as_secs_f64() / reference.1.as_secs_f64());
        let reference = Some((reference.0.to_string(), reference.1));
        Row { section: section.into(), what: what.into(), strata, reference, ratio, goal, runs }
    }

    /// Uses `ratio` (the median of paired per-run ratios, which drift in the machine's load
    /// affects less than a ratio of medians) instead of the ratio of the medians.
    pub fn with_ratio(mut self, ratio: f64) -> Row {
        self.ratio = Some(ratio);
        self
    }

    fn ratio(&self) -> Option<f64> {
        self.ratio
    }

    /// `Some(true)` when the goal is met, `None` when there is no goal.
    pub fn met(&self) -> Option<bool> {
        let reference = self.reference.as_ref().map(|(_, d)| *d);
        match self.goal {
            Goal::Ratio(max) => self.ratio().map(|r| r <= max),
            Goal::Within(delta) => reference.map(|r| self.strata.saturating_sub(r) <= delta),
            Goal::AtMost(max) => Some(self.strata <= max),
        }
    }

    fn goal_text(&self) -> String {
        match self.goal {
            Goal::Ratio(max) => format!("≤ {}x", format!("{max:.2}").trim_end_matches('0')),
            Goal::Within(delta) => format!("≤ +{}", human(delta)),
            Goal::AtMost(max) => format!("≤ {}", human(max)),
        }
    }

    fn cells(&self) -> Vec<String> {
        let (reference, ratio) = match (&self.reference, self.ratio()) {
            (Some((label, d)), Some(r)) => {
                let delta = self.strata.as_secs_f64() - d.as_secs_f64();
                let ratio = match self.goal {
                    Goal::Within(_) => {
                        format!("{r:.2}x ({}{})", if delta < 0.0 { "−" } else { "+" }, human_f(delta.abs()))
                    }
                    _ => format!("{r:.2}x"),
                };
                (format!("{} ({label})", human(*d)), ratio)
            }
            _ => ("—".into(), "—".into()),
        };
        let met = match self.met() {
            Some(true) => "yes",
            Some(false) => "**NO**",
            None => "—",
        };
        vec![
            self.section.clone(),
            self.what.clone(),
            human(self.strata),
            reference,
            ratio,
            self.goal_text(),
            met.into(),
            self.runs.clone(),
        ]
    }
}

/// Everything measured in one run, plus where the time went and notes.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: Vec<Row>,
    /// Lines of the "where the time goes" breakdown (profiled runs).
    pub profile: Vec<String>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn push(&mut self, row: Row) {
        println!("  {:<34} {:<58} {}", row.section, row.what, row.cells()[2..5].join("  "));
        self.rows.push(row);
    }

    pub fn profile(&mut self, line: String) {
        println!("  profile: {line}");
        self.profile.push(line);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        println!("  note: {note}");
        self.notes.push(note);
    }

    /// The aligned markdown table.
    pub fn table(&self) -> String {
        let header = ["section", "measurement", "strata", "reference", "ratio", "target", "met", "runs"];
        let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
        lines.extend(self.rows.iter().map(Row::cells));
        let widths: Vec<usize> = (0..header.len())
            .map(|c| lines.iter().map(|l| l[c].chars().count()).max().unwrap_or(0))
            .collect();
        let render = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect();
            format!("| {} |\n", padded.join(" | "))
        };
        let mut out = render(&lines[0]);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&render(&rule));
        lines[1..].iter().for_each(|l| out.push_str(&render(l)));
        out
    }

    /// The whole report as markdown: context, table, notes.
    pub fn markdown(&self, context: &[String]) -> String {
        let mut out = String::from("# strata benchmark\n\n");
        context.iter().for_each(|c| {
            let _ = writeln!(out, "- {c}");
        });
        let _ = write!(out, "\n{}", self.table());
        let met = self.rows.iter().filter(|r| r.met() == Some(true)).count();
        let judged = self.rows.iter().filter(|r| r.met().is_some()).count();
        let _ = writeln!(out, "\nTargets met: {met} of {judged}.");
        if !self.profile.is_empty() {
            out.push_str("\n## Where the time goes (one extra, profiled run each)\n\n");
            self.profile.iter().for_each(|p| {
                let _ = writeln!(out, "- {p}");
            });
        }
        if !self.notes.is_empty() {
            out.push_str("\n## Notes\n\n");
            self.notes.iter().for_each(|n| {
                let _ = writeln!(out, "- {n}");
            });
        }
        out
    }
}

/// A duration the way a person reads it: `812 µs`, `3.41 ms`, `12.3 s`.
pub fn human(d: Duration) -> String {
    human_f(d.as_secs_f64())
}

fn human_f(secs: f64) -> String {
    if secs >= 10.0 {
        format!("{secs:.1} s")
    } else if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 1e-3 {
        format!("{:.2} ms", secs * 1e3)
    } else {
        format!("{:.0} µs", secs * 1e6)
    }
}

/// The median of some durations (the mean of the middle two for an even count).
pub fn median(samples: &[Duration]) -> Duration {
    assert!(!samples.is_empty(), "median of no samples");
    let mut sorted = samples.to_vec();
    sorted.sort();
    let mid = sorted.len() / 2;
    if !sorted.len().is_multiple_of(2) {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2
    }
}

/// Runs `f` and returns its result with how long it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

/// "median of 5" / "1 run".
pub fn runs(n: usize) -> String {
    if n == 1 {
        "1 run".into()
    } else {
        format!("median of {n}")
    }
}
