//! Generates the module list of `src/versions/` and fails the build on a broken chain.
fn main() {
    strata::build::BuildScript::new("src/versions").module_list("versions.rs").run();
}
