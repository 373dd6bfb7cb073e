//! Backpressure: a client that does not read makes the server's output reach the high
//! watermark; the slow-consumer policy is applied, and reading resumes once it drains.

mod common;

use std::sync::mpsc::{self, Sender};

use common::{next, until, WAIT};
use ws_mio::{CloseCode, ConnId, Ctx, Handler, Options, SendStatus, Server, SlowConsumer};

const CHUNK: usize = 16 * 1024;
const HIGH: usize = 256 * 1024;
const LOW: usize = 64 * 1024;
/// Far more than the kernel buffers of a loopback connection hold.
const TOTAL: usize = 24 << 20;

#[derive(Debug, PartialEq, Eq)]
enum Report {
    /// The high watermark was reached with this much buffered; then one more send gave this.
    Reached {
        queued: usize,
        buffered: usize,
        then: SendStatus,
    },
    /// Every chunk is queued (this many) and the end marker too.
    Done {
        queued: usize,
    },
    Drain,
}

/// Sends chunks until the high watermark, then one more to see the policy; continues on
/// every drain until `TOTAL` is queued, then sends "end".
struct Flood {
    tx: Sender<Report>,
    queued: usize,
    reports: usize,
}

impl Flood {
    fn flood(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let chunk = vec![7u8; CHUNK];
        while self.queued * CHUNK < TOTAL {
            match ctx.send_binary(id, &chunk).unwrap() {
                SendStatus::Queued => self.queued += 1,
                SendStatus::Backpressure => {
                    self.queued += 1;
                    let buffered = ctx.buffered_amount(id).unwrap();
                    let then = ctx.send_binary(id, &chunk).unwrap();
                    // Only the first few rounds are reported; the rest just keep going.
                    if self.reports < 3 {
                        self.reports += 1;
                        let _ = self.tx.send(Report::Reached {
                            queued: self.queued,
                            buffered,
                            then,
                        });
                    }
                    return;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(ctx.send_text(id, "end").unwrap(), SendStatus::Queued);
        let _ = self.tx.send(Report::Done {
            queued: self.queued,
        });
    }
}

impl Handler for Flood {
    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        self.flood(ctx, id);
    }
    fn drain(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let _ = self.tx.send(Report::Drain);
        self.flood(ctx, id);
    }
}

fn start(policy: SlowConsumer) -> (String, mpsc::Receiver<Report>, ws_mio::Running) {
    let (tx, rx) = mpsc::channel();
    let mut options = Options::default();
    options.high_watermark = HIGH;
    options.low_watermark = LOW;
    options.slow_consumer = policy;
    // Compression would shrink the chunks to nothing: count raw bytes.
    options.config.deflate.enabled = false;
    let server = Server::bind("127.0.0.1:0", options, move |_| Flood {
        tx: tx.clone(),
        queued: 0,
        reports: 0,
    })
    .unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    (url, rx, server.spawn().unwrap())
}

fn connect(url: &str) -> ws_std::WebSocket<ws_std::MaybeTlsStream> {
    let (mut ws, _) = ws_std::connect(url).unwrap();
    ws.set_read_timeout(Some(WAIT));
    ws
}

#[test]
fn drop_policy_discards_messages_above_the_watermark_and_reading_resumes() {
    let (url, rx, _running) = start(SlowConsumer::Drop);
    // The client does not read yet: the output piles up to the high watermark.
    let mut ws = connect(&url);
    let Report::Reached { buffered, then, .. } = next(&rx) else {
        panic!("expected the watermark first")
    };
    assert!(buffered >= HIGH, "{buffered}");
    assert_eq!(then, SendStatus::Dropped);

    // Now it reads everything: the server drains, floods again, and so on to the end. Every
    // queued chunk arrives, no dropped one does.
    let mut received = 0;
    loop {
        match ws.read().unwrap() {
            ws_std::Message::Binary(data) => {
                assert_eq!(data.len(), CHUNK);
                received += 1;
            }
            ws_std::Message::Text(text) => {
                assert_eq!(text, "end");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let Report::Done { queued } = until(&rx, |r| matches!(r, Report::Done { .. })) else {
        unreachable!()
    };
    assert_eq!(received, queued);
    assert!(queued * CHUNK >= TOTAL);
}

#[test]
fn close_policy_closes_with_1013_after_the_buffered_messages() {
    let (url, rx, _running) = start(SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER));
    let mut ws = connect(&url);
    let Report::Reached {
        queued,
        buffered,
        then,
    } = next(&rx)
    else {
        panic!("expected the watermark first")
    };
    assert!(buffered >= HIGH, "{buffered}");
    assert_eq!(then, SendStatus::Closing);
    // What was queued before the policy applied still arrives, then the Close frame.
    let mut received = 0;
    loop {
        match ws.read().unwrap() {
            ws_std::Message::Binary(_) => received += 1,
            ws_std::Message::Close(Some(frame)) => {
                assert_eq!(frame.code, CloseCode::TRY_AGAIN_LATER);
                assert_eq!(frame.reason, "slow consumer");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(received, queued);
}

#[test]
fn wait_policy_queues_and_reports_backpressure() {
    let (url, rx, _running) = start(SlowConsumer::Wait);
    let mut ws = connect(&url);
    let Report::Reached { then, .. } = next(&rx) else {
        panic!("expected the watermark first")
    };
    // `Reached` is only reported after a send answered `Backpressure`. The next send is queued
    // as well (the Wait policy): it says `Backpressure` again, or `Queued` when its own write
    // found room that the kernel had made meanwhile by moving bytes to the reader's side.
    assert!(
        matches!(then, SendStatus::Backpressure | SendStatus::Queued),
        "{then:?}"
    );
    let mut received = 0;
    while let ws_std::Message::Binary(_) = ws.read().unwrap() {
        received += 1;
    }
    // Nothing was dropped: the chunks counted as queued plus one extra per round.
    let Report::Done { queued } = until(&rx, |r| matches!(r, Report::Done { .. })) else {
        unreachable!()
    };
    assert!(received > queued, "{received} {queued}");
}
