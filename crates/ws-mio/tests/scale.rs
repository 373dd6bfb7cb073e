//! Many connections at once: 2,000 ws-mio client connections to a ws-mio server (two event
//! loops) in this process, a broadcast that every connection must receive, an echo on each,
//! and a clean close of all. The 10,000-connection run with memory figures is
//! `examples/scale` (see docs/performance.md).

#[path = "../examples/scale/harness.rs"]
#[allow(dead_code, unreachable_pub)]
mod harness;

use harness::{Hub, Plan};
use ws_mio::{Options, Server};

#[test]
fn two_thousand_connections_get_every_broadcast_and_close_cleanly() {
    const CONNECTIONS: usize = 2_000;
    // Both ends are in this process: two descriptors per connection.
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap();
    assert!(
        limit >= 2 * CONNECTIONS as u64 + 64,
        "the open-file limit ({limit}) is too low for this test"
    );
    let mut options = Options::default();
    options.threads = 2;
    options.backlog = 4096;
    options.config.deflate.enabled = false;
    let server = Server::bind("127.0.0.1:0", options, |_| Hub).unwrap();
    let addr = server.local_addr().unwrap();
    let running = server.spawn().unwrap();

    let plan = Plan {
        connections: CONNECTIONS,
        client_threads: 2,
        broadcasts: 3,
        broadcast_len: 64,
        echo_len: 1024,
        deflate: false,
        #[cfg(feature = "tls")]
        tls: None,
    };
    let outcome = harness::run(addr, &plan, |_| None).unwrap();
    assert_eq!(outcome.fan_out.len(), 3);
    assert_eq!(outcome.clean_closes, CONNECTIONS);
    eprintln!(
        "{CONNECTIONS} connections: connect {:?}, fan-out {:?}, echo {:?}, close {:?}",
        outcome.connect, outcome.fan_out, outcome.echo, outcome.close
    );
    running.stop().unwrap();
}
