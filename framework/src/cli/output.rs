//! How results reach the user: readable tables and colour on a terminal, plain lines when
//! piped, or stable JSON with `--format json` (documented in README.md).

use crate::backend::{Direction, HistoryRow};
use crate::runner::{Applied, Listener, Report};
use crate::Migration;
use anstyle::{AnsiColor, Style};
use comfy_table::{presets, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// `--format`: text or JSON for every command, and Graphviz dot or Mermaid for `graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Tables and lines (tab-separated when piped).
    Text,
    /// One JSON document on stdout.
    Json,
    /// Graphviz dot (`graph` only).
    Dot,
    /// A Mermaid flowchart (`graph` only).
    Mermaid,
}

impl FormatArg {
    /// The format results and errors are printed in: JSON only when asked for.
    pub fn output(self) -> Format {
        match self {
            FormatArg::Json => Format::Json,
            _ => Format::Text,
        }
    }
}

const HEAD: Style = AnsiColor::Green.on_default().bold();
const DIM: Style = Style::new().dimmed();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();

/// Whether stdout is a terminal (tables and colour) rather than a pipe (tab-separated lines).
pub fn terminal() -> bool {
    stdout_choice().terminal
}

/// What a stream is, asked once a process: whether it is a terminal, and so (with NO_COLOR
/// and CLICOLOR_FORCE) whether it gets colour. Asking at every line cost two `ioctl`s a
/// migration of an upgrade's progress (2,000 system calls for 1,000 migrations); a process's
/// stdout and stderr do not change what they are while it runs.
#[derive(Debug, Clone, Copy)]
struct StreamKind {
    terminal: bool,
    colour: anstream::ColorChoice,
}

impl StreamKind {
    fn of<S: anstream::stream::RawStream>(stream: &S) -> Self {
        StreamKind {
            terminal: anstream::stream::IsTerminal::is_terminal(stream),
            colour: anstream::AutoStream::choice(stream),
        }
    }
}

fn stdout_choice() -> StreamKind {
    static KIND: OnceLock<StreamKind> = OnceLock::new();
    *KIND.get_or_init(|| StreamKind::of(&std::io::stdout()))
}

fn stderr_choice() -> StreamKind {
    static KIND: OnceLock<StreamKind> = OnceLock::new();
    *KIND.get_or_init(|| StreamKind::of(&std::io::stderr()))
}

/// The program name panics are reported under.
static PROGRAM: Mutex<String> = Mutex::new(String::new());

/// Sets the program name panics are reported under.
pub fn set_program(name: &str) {
    *PROGRAM.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = name.to_string();
}

/// The passwords of the database URL(s) in use: nothing printed, logged or panicked shows them.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Stdout or stderr could not be written (a closed pipe: `show X | head -1`); further output
/// to it is dropped and the command finishes its work (a migration is never abandoned halfway
/// because a reader went away).
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);
/// A failure to write stdout other than a closed pipe (a full disk), reported at exit.
static STDOUT_FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Adds the passwords of `connection` (a URL or key=value string) to those never shown.
pub fn hide(connection: &str) {
    let mut secrets = SECRETS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for secret in crate::backend::secrets_in(connection) {
        if !secrets.contains(&secret) {
            secrets.push(secret);
        }
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every hidden password replaced by `***`.
pub fn scrubbed(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    crate::backend::scrub(text, &secrets)
}

/// Writes to stdout (colour stripped off a terminal, honouring NO_COLOR and CLICOLOR_FORCE);
/// never panics.
pub fn write_out(args: std::fmt::Arguments) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let text = scrubbed(&args.to_string());
    #[cfg(test)]
    if tests::captured(&text) {
        return;
    }
    let mut out = anstream::AutoStream::new(std::io::stdout(), stdout_choice().colour);
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            *STDOUT_FAILURE.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e.to_string());
        }
    }
}

/// Writes to stderr, like [`write_out`]; a closed stderr is ignored.
pub fn write_err(args: std::fmt::Arguments) {
    if STDERR_GONE.load(Ordering::Relaxed) {
        return;
    }
    let text = scrubbed(&args.to_string());
    #[cfg(test)]
    if tests::captured(&text) {
        return;
    }
    let mut err = anstream::AutoStream::new(std::io::stderr(), stderr_choice().colour);
    if err.write_all(text.as_bytes()).and_then(|()| err.flush()).is_err() {
        STDERR_GONE.store(true, Ordering::Relaxed);
    }
}

/// Why stdout could not be written, when it was not a closed pipe.
pub fn stdout_failure() -> Option<String> {
    STDOUT_FAILURE.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
}

/// `println!` through [`write_out`]: scrubbed, and quiet on a closed pipe instead of panicking.
macro_rules! println {
    () => {
        $crate::cli::output::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`write_out`].
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::cli::output::write_out(format_args!($($arg)*))
    };
}

/// `eprint!` through [`write_err`]: a closed stderr (a hung-up terminal) is no panic.
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::cli::output::write_err(format_args!($($arg)*))
    };
}

/// `eprintln!` through [`write_err`].
macro_rules! eprintln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {eprint, eprintln, print, println};

/// Whether logs on stderr get colour: as for stdout, by the terminal check, NO_COLOR and
/// CLICOLOR_FORCE.
pub fn log_colour() -> bool {
    stderr_choice().colour != anstream::ColorChoice::Never
}

/// One log line, written (scrubbed) when the logger drops it.
#[derive(Default)]
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            write_err(format_args!("{}", String::from_utf8_lossy(&self.0)));
        }
    }
}

/// What a panic prints: scrubbed like everything else.
pub fn panic_message(info: &std::panic::PanicHookInfo) -> String {
    panic_text(info)
}

/// [`panic_message`] of what the hook's info prints (`panicked at FILE:LINE:COL:` and the
/// message), apart so tests need not replace the process's one panic hook.
fn panic_text(info: &dyn std::fmt::Display) -> String {
    let program = PROGRAM.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    scrubbed(&format!("{program} {info}\nthis is a bug: please report it\n"))
}

pub fn json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

pub fn error(message: &str) {
    write_err(format_args!("{ERROR}error{ERROR:#}: {message}\n"));
}

pub fn warning(message: &str) {
    write_err(format_args!("{WARN}warning{WARN:#}: {message}\n"));
}

/// A table on a terminal, tab-separated lines when piped.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) {
    if !terminal() {
        for row in rows {
            println!("{}", row.join("\t"));
        }
        return;
    }
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    // Wrap to the terminal only when its width is known and usable; a terminal that reports
    // no size (some CI runners, `script`) would squeeze every column to one character.
    if table.width().is_some_and(|w| w >= 60) {
        table.set_content_arrangement(ContentArrangement::Dynamic);
    }
    table.set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    println!("{table}");
}

pub fn ms(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

/// A duration in human units for text output (JSON keeps milliseconds): `812 µs`, `8.3 ms`,
/// `245 ms`, `1.24 s`, `12.5 s`, `2 min 5 s`, `1 h 3 min`. Each is rounded first, so a
/// value never shows as `1000 µs` or `60 s`.
pub fn human(duration: std::time::Duration) -> String {
    let us = (duration.as_nanos() as f64 / 1000.0).round();
    if us < 1000.0 {
        return format!("{us} µs");
    }
    let ms = duration.as_secs_f64() * 1000.0;
    if (ms * 10.0).round() < 1000.0 {
        return format!("{:.1} ms", ms);
    }
    if ms.round() < 1000.0 {
        return format!("{:.0} ms", ms);
    }
    let s = duration.as_secs_f64();
    if (s * 100.0).round() < 1000.0 {
        return format!("{:.2} s", s);
    }
    if (s * 10.0).round() < 600.0 {
        return format!("{:.1} s", s);
    }
    let whole = s.round() as u64;
    if whole < 3600 {
        return format!("{} min {} s", whole / 60, whole % 60);
    }
    let minutes = (s / 60.0).round() as u64;
    format!("{} h {} min", minutes / 60, minutes % 60)
}

fn verb(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "applied",
        Direction::Down => "reverted",
        Direction::Stamp => "stamped",
        Direction::Accept => "accepted",
        Direction::Started => "started",
        Direction::Resolve => "resolved",
    }
}

/// Prints each migration as it finishes, with a progress bar on a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    pub fn new(format: Format, quiet: bool) -> Self {
        let show = format == Format::Text && !quiet;
        Progress { bar: None, quiet: !show }
    }
}

impl Listener for Progress {
    fn starting(&mut self, revision: &str, message: &str, _direction: Direction, index: usize, total: usize) {
        if self.quiet || !stderr_choice().terminal || total < 2 {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
                bar.set_style(style);
            }
            bar
        });
        bar.set_position(index as u64);
        bar.set_message(format!("{revision} {message}"));
    }

    /// Dev: the log's warning. Staging and production: every finding on stderr, marked,
    /// even with --quiet or --format json (stdout stays the document).
    fn lint_finding(&mut self, env: crate::config::Environment, finding: &crate::lint::Finding) {
        match env {
            crate::config::Environment::Dev => crate::runner::warn_lint_finding(env, finding),
            _ => {
                for line in lint_finding_lines(env, finding) {
                    self.err_line(&line);
                }
            }
        }
    }

    fn finished(&mut self, applied: &Applied) {
        if self.quiet {
            return;
        }
        let line = format!(
            "  {} {}  {}  {DIM}({}){DIM:#}",
            verb(applied.direction),
            applied.revision,
            applied.message,
            human(applied.duration)
        );
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.suspend(|| println!("{line}"));
            }
            None => println!("{line}"),
        }
    }
}

impl Progress {
    /// Prints `line` on stderr, above the progress bar when there is one.
    fn err_line(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

/// A lint finding let through in staging or production, as the CLI prints it on stderr:
/// marked, with what production does with it.
pub fn lint_finding_lines(env: crate::config::Environment, f: &crate::lint::Finding) -> Vec<String> {
    let mark = env.as_str().to_uppercase();
    let mut lines = vec![format!(
        "{mark} LINT {} {} {} op {} ({}): {}.",
        f.code,
        f.severity,
        f.revision,
        f.op_index + 1,
        f.op,
        f.message
    )];
    lines.push(format!("    remedy: {}.", f.remedy));
    match &f.acknowledged {
        Some(reason) => lines.push(format!("    acknowledged by the migration: {reason}")),
        None if f.blocks() => lines.push(format!(
            "    production refuses this unless the migration acknowledges it: {}",
            f.how_to_acknowledge()
        )),
        None => {}
    }
    lines
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The summary after an upgrade or downgrade (each migration was printed as it ran).
pub fn report(format: Format, database: &str, report: &Report, elapsed: std::time::Duration) {
    let at = |rev: &Option<String>| rev.clone().unwrap_or_else(|| "base".into());
    match format {
        Format::Json => json(&json!({
            "database": database,
            "from": report.from,
            "to": report.to,
            "elapsed_ms": ms(elapsed),
            "applied": report.applied.iter().map(|a| json!({
                "revision": a.revision,
                "message": a.message,
                "direction": a.direction,
                "duration_ms": ms(a.duration),
            })).collect::<Vec<_>>(),
        })),
        Format::Text if report.applied.is_empty() => {
            println!("{database}: nothing to do, already at {}", at(&report.to))
        }
        Format::Text => println!(
            "{} migration(s) {} in {}; {database} is now at {}",
            report.applied.len(),
            report.applied.first().map_or("applied", |a| verb(a.direction)),
            human(elapsed),
            at(&report.to)
        ),
    }
}

fn created(m: &Migration) -> String {
    m.created_at().map_or_else(|| m.created.to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// When each revision last ran up, from the history log, in one pass (not a search per
/// migration).
fn last_applied(log: &[HistoryRow]) -> std::collections::HashMap<&str, chrono::DateTime<chrono::Utc>> {
    log.iter().filter(|r| r.direction == Direction::Up).map(|r| (r.revision.as_str(), r.applied_at)).collect()
}

/// `current`.
pub fn current(
    format: Format,
    current: &[&'static Migration],
    head: Option<&'static Migration>,
    log: &[HistoryRow],
) {
    let is_head = matches!(current, [m] if Some(m.revision) == head.map(|h| h.revision));
    let last_up = last_applied(log);
    let applied_at = |m: &Migration| last_up.get(m.revision).copied();
    let revisions: Vec<&str> = current.iter().map(|m| m.revision).collect();
    match format {
        Format::Json => json(&json!({
            // The version row: one revision, or one head per partly applied branch, sorted as
            // the row holds them; "heads" keeps the graph's order.
            "revision": crate::plan::encode_heads(&revisions),
            "heads": revisions,
            "message": match current { [m] => Some(m.message), _ => None },
            "created": match current { [m] => Some(m.created), _ => None },
            "applied_at": match current { [m] => applied_at(m).map(|t| t.to_rfc3339()), _ => None },
            "head": head.map(|m| m.revision),
            "is_head": is_head,
        })),
        Format::Text => match current {
            // Base is never also marked head: with no migrations at all, say that instead.
            [] if head.is_none() => {
                println!("base (no migrations applied; the chain has no migrations yet)")
            }
            [] => println!("base (no migrations applied)"),
            heads => {
                if heads.len() > 1 {
                    println!("{} branches partly applied; their applied heads:", heads.len());
                }
                for m in heads {
                    let marker = if is_head { format!(" {HEAD}(head){HEAD:#}") } else { String::new() };
                    let applied = applied_at(m)
                        .map_or_else(String::new, |t| format!(", applied {}", t.format("%Y-%m-%d %H:%M:%S")));
                    println!("{}{marker}  {}  (created {}{applied})", m.revision, m.message, created(m));
                }
            }
        },
    }
}

/// `pending`.
pub fn pending(format: Format, pending: &[&'static Migration], head: Option<&str>) {
    match format {
        Format::Json => json(&Value::Array(
            pending
                .iter()
                .map(|m| {
                    json!({"revision": m.revision, "message": m.message, "created": m.created, "is_head": Some(m.revision) == head})
                })
                .collect(),
        )),
        Format::Text if pending.is_empty() => println!("nothing pending: the database is at head"),
        Format::Text => table(
            &["revision", "message", "created", ""],
            pending
                .iter()
                .map(|m| {
                    let marker = if Some(m.revision) == head { "(head)" } else { "" };
                    vec![m.revision.into(), m.message.into(), created(m), marker.into()]
                })
                .collect(),
        ),
    }
}

/// `history`: every migration of the graph in apply order, marked applied or not (`state`),
/// with when it last ran up.
pub fn history(format: Format, set: &crate::MigrationSet, state: &crate::plan::State, log: &[HistoryRow]) {
    let graph = set.graph();
    let migrations = set.migrations();
    let applied = |m: &Migration| graph.is_applied(state, m.revision);
    let current = graph.heads_of(state);
    let last_up = last_applied(log);
    let applied_at = |rev: &str| last_up.get(rev).copied();
    let head = set.head().map(|m| m.revision);
    match format {
        Format::Json => json(&Value::Array(
            migrations
                .iter()
                .map(|m| {
                    json!({
                        "revision": m.revision,
                        "parent": m.parent(),
                        "parents": m.parents,
                        "message": m.message,
                        "created": m.created,
                        "applied": applied(m),
                        "applied_at": applied(m).then(|| applied_at(m.revision)).flatten().map(|t| t.to_rfc3339()),
                        "is_head": Some(m.revision) == head,
                        "is_current": current.contains(&m.revision),
                    })
                })
                .collect(),
        )),
        Format::Text if migrations.is_empty() => {
            println!("no migrations yet: `create \"message\"` writes the first one")
        }
        Format::Text => table(
            &["", "revision", "message", "created", "applied at", ""],
            migrations
                .iter()
                .map(|m| {
                    let mark = if applied(m) { "[x]" } else { "[ ]" };
                    let at = applied(m)
                        .then(|| applied_at(m.revision))
                        .flatten()
                        .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
                    let mut markers = Vec::new();
                    if current.contains(&m.revision) {
                        markers.push("(current)");
                    }
                    if Some(m.revision) == head {
                        markers.push("(head)");
                    }
                    if m.parents.len() > 1 {
                        markers.push("(merge)");
                    }
                    vec![mark.into(), m.revision.into(), m.message.into(), created(m), at, markers.join(" ")]
                })
                .collect(),
        ),
    }
}

/// `history --log`: the history table itself, oldest first.
pub fn history_log(format: Format, log: &[HistoryRow]) {
    match format {
        Format::Json => json(&Value::Array(
            log.iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "revision": r.revision,
                        "message": r.message,
                        "direction": r.direction,
                        "applied_at": r.applied_at.to_rfc3339(),
                        "duration_ms": r.duration_ms,
                        "checksum": r.checksum,
                        "acknowledged": r.acknowledgements().iter().map(|(code, reason)| json!({"code": code, "reason": reason})).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )),
        Format::Text if log.is_empty() => {
            println!("the history table is empty: nothing was applied, reverted or stamped yet")
        }
        Format::Text => {
            // The column only when a row has acknowledgements: most histories have none.
            let acknowledged = log.iter().any(|r| r.acknowledged.is_some());
            let mut headers = vec!["applied at", "direction", "revision", "message", "took"];
            if acknowledged {
                headers.push("acknowledged");
            }
            table(
                &headers,
                log.iter()
                    .map(|r| {
                        let mut row = vec![
                            r.applied_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                            r.direction.to_string(),
                            r.revision.clone(),
                            r.message.clone(),
                            human(
                                std::time::Duration::try_from_secs_f64(r.duration_ms / 1000.0)
                                    .unwrap_or_default(),
                            ),
                        ];
                        if acknowledged {
                            let pairs = r.acknowledgements();
                            row.push(pairs.iter().map(|(c, why)| format!("{c}: {why}")).collect::<Vec<_>>().join("; "));
                        }
                        row
                    })
                    .collect(),
            )
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::RefCell;
    use std::time::Duration;

    thread_local! {
        /// What this thread's command printed (stdout and stderr), while capturing.
        static CAPTURE: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Keeps `text` when this thread captures its output.
    pub(crate) fn captured(text: &str) -> bool {
        CAPTURE.with(|c| c.borrow_mut().as_mut().map(|out| out.push_str(text)).is_some())
    }

    /// Runs `f`, returning what it printed on stdout and stderr together.
    pub(crate) fn capture<T>(f: impl FnOnce() -> T) -> (T, String) {
        CAPTURE.with(|c| *c.borrow_mut() = Some(String::new()));
        let result = f();
        (result, CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default())
    }

    #[test]
    fn durations_read_in_human_units() {
        let cases = [
            (Duration::from_nanos(400), "0 µs"),
            (Duration::from_micros(812), "812 µs"),
            (Duration::from_nanos(999_600), "1.0 ms"),
            (Duration::from_micros(8_300), "8.3 ms"),
            (Duration::from_micros(44_640), "44.6 ms"),
            (Duration::from_micros(99_970), "100 ms"),
            (Duration::from_millis(245), "245 ms"),
            (Duration::from_micros(999_700), "1.00 s"),
            (Duration::from_millis(1_240), "1.24 s"),
            (Duration::from_millis(9_999), "10.0 s"),
            (Duration::from_millis(12_500), "12.5 s"),
            (Duration::from_millis(59_970), "1 min 0 s"),
            (Duration::from_secs(125), "2 min 5 s"),
            (Duration::from_secs(3_780), "1 h 3 min"),
        ];
        for (duration, text) in cases {
            assert_eq!(super::human(duration), text, "{duration:?}");
        }
    }

    /// Two branches partly applied, in the graph's order (`z1` was created first): the JSON
    /// "revision" is the version row, sorted; "heads" keeps the graph's order.
    #[test]
    fn current_as_json_gives_the_version_row_sorted() {
        use crate::migration::Migration;
        let branch = |revision: &'static str, created: &'static str| Migration {
            revision,
            parents: &["r0"],
            message: "a branch",
            created,
            upgrade: |_| {},
            downgrade: |_| {},
            file: "r.rs",
            transactional: true,
            replaces: &[],
        };
        let z1: &'static Migration = Box::leak(Box::new(branch("z1", "2026-12-01T00:00:00Z")));
        let a2: &'static Migration = Box::leak(Box::new(branch("a2", "2026-12-02T00:00:00Z")));
        let ((), out) = capture(|| super::current(super::Format::Json, &[z1, a2], None, &[]));
        let value: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(value["revision"], "a2 z1", "{out}");
        assert_eq!(value["heads"], serde_json::json!(["z1", "a2"]), "{out}");
        assert_eq!(value["is_head"], false, "{out}");
    }

    /// What the panic hook prints. Not through a hook of the test's own: the hook is one per
    /// process, and tests running `App` beside this one install the command line's.
    #[test]
    fn panics_and_logs_hide_the_passwords() {
        super::hide("postgres://u:pa/ss@h/db?password=hunter2");
        let info = "panicked at src/lib.rs:1:1:\ncannot use postgres://u:pa/ss@h/db, password hunter2";
        let seen = super::panic_text(&info);
        assert!(seen.contains("cannot use postgres://u:***@h/db, password ***"), "{seen}");
        assert!(seen.ends_with("this is a bug: please report it\n"), "{seen}");
        assert_eq!(super::scrubbed("pa/ss and hunter2"), "*** and ***");
    }
}
