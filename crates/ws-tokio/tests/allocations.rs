//! The async echo loop (`read`, then `write` of the same message) allocates nothing per
//! message once warm, as ws-std's does: the message's buffer goes back to the connection,
//! and the next message is received into it.
//!
//! The server runs on a current-thread runtime on the test thread, whose allocations
//! `allocation_counter` counts; the client is ws-std's, on its own thread (so this is also
//! the blocking adapter against the async one). Two runs of different lengths are counted:
//! the difference is what the extra messages cost.

use std::net::TcpListener as StdListener;
use std::thread;

use ws_std::ws_proto::{CloseCode, Config};

/// Messages per round: the client sends a round, then reads its echoes.
const ROUND: usize = 10;

fn echo_run(rounds: usize, binary: bool, deflate: bool) -> u64 {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let client = thread::spawn(move || {
        let mut config = Config::default();
        config.deflate.enabled = deflate;
        let (mut ws, _) = ws_std::ClientBuilder::new(&url)
            .config(config)
            .connect()
            .expect("connect");
        for _ in 0..rounds {
            for i in 0..ROUND {
                let message = if binary {
                    ws_std::Message::Binary(vec![i as u8; 100])
                } else {
                    ws_std::Message::Text(format!("message number {i:>4}"))
                };
                ws.write(message).expect("write");
            }
            ws.flush().expect("flush");
            for _ in 0..ROUND {
                assert!(ws.read().expect("echo").is_data());
            }
        }
        ws.close(CloseCode::NORMAL, "").expect("close");
        while ws.read().is_ok() {}
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (tcp, _) = listener.accept().expect("accept");
    tcp.set_nonblocking(true).expect("non-blocking");
    let mut ws = runtime.block_on(async {
        let tcp = tokio::net::TcpStream::from_std(tcp).expect("tokio stream");
        ws_tokio::accept_async(tcp).await.expect("handshake")
    });
    let mut echoed = 0;
    let allocations = allocation_counter::measure(|| {
        runtime.block_on(async {
            loop {
                match ws.read().await {
                    Ok(message) if message.is_data() => {
                        ws.write(message).expect("write");
                        echoed += 1;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        })
    })
    .count_total;
    client.join().expect("client");
    assert_eq!(echoed, rounds * ROUND);
    allocations
}

#[test]
fn steady_echo_allocates_nothing_per_message() {
    for (binary, deflate) in [(false, false), (true, false), (false, true), (true, true)] {
        let short = echo_run(50, binary, deflate);
        let long = echo_run(250, binary, deflate);
        // 2,000 more messages echoed: no more allocations (a few of slack for how the kernel
        // happens to split the reads of the warm-up).
        assert!(
            long <= short + 8,
            "binary {binary}, deflate {deflate}: {short} allocations for 500 messages, \
             {long} for 2,500"
        );
    }
}
