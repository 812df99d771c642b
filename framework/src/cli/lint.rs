//! `lint [--pg-version N] [--empty TABLE]...`: the library's [`crate::lint`] over every
//! migration, printed with codes; exit 1 when a finding is an error.

use super::output::{self, println, Format};
use crate::lint::{self, Finding, Severity};
use crate::MigrationManager;
use serde_json::json;

pub(super) fn run(manager: &MigrationManager, format: Format, empty: &[String]) -> u8 {
    let mut options = manager.lint_options();
    options.empty_tables.extend(empty.iter().cloned());
    let findings = lint::lint(manager.migrations(), &options);
    // Acknowledgements that cannot be honoured are errors of their own (and mark nothing).
    let bad = lint::acknowledgement_errors(manager.migrations().migrations());
    // Reported on stderr in both formats, so that the JSON document keeps its one shape.
    match format {
        Format::Json => output::json(&json!(findings)),
        Format::Text => print_text(&findings, manager, options.pg_major),
    }
    for e in &bad {
        output::error(&e.to_string());
    }
    if lint::has_errors(&findings) || !bad.is_empty() {
        crate::error::ErrorKind::Validation.exit_code()
    } else {
        0
    }
}

fn print_text(findings: &[Finding], manager: &MigrationManager, major: crate::locks::PgMajor) {
    for f in findings {
        println!("{} {:<7} {} op {} ({})", f.code, f.severity, f.revision, f.op_index + 1, f.op);
        println!("    {}.", f.message);
        println!("    remedy: {}.", f.remedy);
        if let Some(reason) = &f.acknowledged {
            println!("    acknowledged: {reason}");
        }
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s && f.acknowledged.is_none()).count();
    let acknowledged = findings.iter().filter(|f| f.acknowledged.is_some()).count();
    let migrations = manager.migrations().migrations().len();
    if findings.is_empty() {
        println!("lint: no findings in {migrations} migration(s) for PostgreSQL {major}");
    } else {
        let acknowledged =
            if acknowledged > 0 { format!(", {acknowledged} acknowledged") } else { String::new() };
        println!(
            "lint: {} error(s), {} warning(s), {} info{acknowledged} in {migrations} migration(s) for PostgreSQL {major}",
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Info)
        );
    }
}
