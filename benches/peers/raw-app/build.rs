//! Writes the workload's statements as two constant arrays (`OUT_DIR/statements.rs`), so
//! the raw app has them compiled in as every tool has its migrations.

use peer_workload::{size_from_features, steps, write_if_changed};
use std::path::PathBuf;

fn main() {
    let n = size_from_features().unwrap_or_else(|e| panic!("raw-app: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    let steps = steps(n);
    let mut text = String::from("/// The upgrade statements, in order.\npub const UP: &[&str] = &[\n");
    for step in &steps {
        text.push_str(&format!("    {:?},\n", step.up_sql()));
    }
    text.push_str("];\n\n/// The downgrade statements, in the order they run (the last migration's first).\npub const DOWN: &[&str] = &[\n");
    for step in steps.iter().rev() {
        text.push_str(&format!("    {:?},\n", step.down_sql()));
    }
    text.push_str("];\n");
    write_if_changed(&out.join("statements.rs"), &text).expect("raw-app: cannot write statements.rs");
    println!("cargo:rerun-if-changed=build.rs");
}
