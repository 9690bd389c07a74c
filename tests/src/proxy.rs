//! A fault-injecting TCP proxy between device cores and the server, under test control.
//!
//! The fault in force is read for every new connection and every chunk of a response, so a test
//! can switch faults between (or during) requests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    Pass,
    /// Close new connections at once (the server seems down).
    Refuse,
    /// Forward the request, then close the connection as soon as the server answers: the server
    /// did the work, the device never hears of it.
    DropResponse,
    /// Forward half of the first chunk of the answer, then close.
    CutResponse,
    /// Hold every chunk of the answer this long.
    Delay(Duration),
}

/// A running proxy.
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT` of the proxy.
    pub url: String,
    fault: Arc<Mutex<Fault>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` on a free loopback port.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let shared = fault.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let fault = shared.clone();
                tokio::spawn(async move {
                    let _ = relay(client, upstream, fault).await;
                });
            }
        });
        Ok(Self { url, fault, task })
    }

    /// Sets the fault in force.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = fault;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn current(fault: &Mutex<Fault>) -> Fault {
    *fault.lock().unwrap_or_else(|e| e.into_inner())
}

async fn relay(
    client: TcpStream,
    upstream: SocketAddr,
    fault: Arc<Mutex<Fault>>,
) -> std::io::Result<()> {
    if current(&fault) == Fault::Refuse {
        return Ok(());
    }
    let server = TcpStream::connect(upstream).await?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests =
        tokio::spawn(async move { tokio::io::copy(&mut client_read, &mut server_write).await });
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = server_read.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        match current(&fault) {
            Fault::Pass | Fault::Refuse => client_write.write_all(&buffer[..n]).await?,
            Fault::DropResponse => break,
            Fault::CutResponse => {
                client_write.write_all(&buffer[..n / 2]).await?;
                break;
            }
            Fault::Delay(by) => {
                tokio::time::sleep(by).await;
                client_write.write_all(&buffer[..n]).await?;
            }
        }
    }
    requests.abort();
    Ok(())
}
