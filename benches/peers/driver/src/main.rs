//! `peer-bench`, the whole-process peer benchmark's driver: see the library's documentation
//! and `benches/peers/README.md`.

fn main() -> std::process::ExitCode {
    peer_bench::main()
}
