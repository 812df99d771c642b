//! Writes the workload's statements as two constant arrays and the migrations' revision ids
//! as a third (`OUT_DIR/statements.rs`), so the raw app has them compiled in as every tool
//! has its migrations.

use peer_workload::{revision_id, size_from_features, steps, write_if_changed, RAW_BOOKKEEPING_TABLES};
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
    text.push_str("];\n\n/// The revision id of migration `i + 1` (the bookkept modes' history and version).\npub const REVISIONS: &[&str] = &[\n");
    for step in &steps {
        text.push_str(&format!("    {:?},\n", revision_id(step.index)));
    }
    text.push_str("];\n");
    let [history, version] = RAW_BOOKKEEPING_TABLES;
    text.push_str(&format!(
        "\n/// The bookkept modes' history table (not `t_*`: the driver's state check ignores it).\n\
         const HISTORY: &str = {history:?};\n\
         /// The bookkept modes' one-row version table: the revision the database is at (NULL: base).\n\
         const VERSION: &str = {version:?};\n"
    ));
    write_if_changed(&out.join("statements.rs"), &text).expect("raw-app: cannot write statements.rs");
    println!("cargo:rerun-if-changed=build.rs");
}
