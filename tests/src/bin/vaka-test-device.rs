//! A device core in a process of its own, so tests can kill it with SIGKILL in the middle of a
//! sync: `vaka-test-device <database> <server-url>` syncs until its outbox is empty.

use std::process::ExitCode;
use vaka_device::Device;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: vaka-test-device <database>");
        return ExitCode::FAILURE;
    };
    let device = match Device::open(&path) {
        Ok(device) => device,
        Err(e) => {
            eprintln!("cannot open {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let http = reqwest::Client::new();
    loop {
        match device.sync_once(&http).await {
            Ok(_) if device.outbox_len().unwrap_or(1) == 0 => return ExitCode::SUCCESS,
            Ok(_) => {}
            Err(e) => eprintln!("sync failed: {e}"),
        }
    }
}
