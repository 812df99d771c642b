//! Checks app-migrations' revision chain at compile time and records the revisions it saw,
//! so the binary can refuse to run if the linker dropped the migrations crate.
fn main() {
    strata::build::BuildScript::new("app-migrations/src/versions")
        .expected_revisions("expected_revisions.rs")
        .run();
}
