//! The `vaka-server` command line, built inside the test crate so that tests can start it as a
//! child process (and kill it).

fn main() -> std::process::ExitCode {
    vaka_server::cli::main()
}
