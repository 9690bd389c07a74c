//! `vaka-server`: see `vaka-server --help`.

fn main() -> std::process::ExitCode {
    vaka_server::cli::main()
}
