//! Checks the revision chain of `src/versions/` at compile time and generates the crate's
//! body: a module per migration file and `migrations()`.
fn main() {
    strata::build::migrations("src/versions");
}
