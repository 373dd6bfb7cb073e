//! The client role: outgoing connections driven by the same event loop.

mod common;

use std::sync::mpsc::{self, Sender};

use common::{next, Probe, Seen};
use ws_mio::{CloseCode, ConnId, Connect, Ctx, Error, Handler, Message, Options, Server};

/// Connects to `url` on start, sends "one" and "two", closes after the second echo.
struct Client {
    url: String,
    tx: Sender<String>,
}

impl Handler for Client {
    fn start(&mut self, ctx: &mut Ctx<'_>) {
        let id = ctx
            .connect(Connect::new(self.url.as_str()).protocol("echo"))
            .unwrap();
        assert_eq!(ctx.role(id), Some(ws_proto::Role::Client));
        let _ = self.tx.send(format!("connecting {}", ctx.is_open(id)));
    }
    fn open(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let _ = self.tx.send(format!("open {:?}", ctx.protocol(id)));
        ctx.send_text(id, "one").unwrap();
        ctx.send_binary(id, b"two").unwrap();
    }
    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        let _ = self.tx.send(format!("message {message:?}"));
        if let Message::Binary(_) = message {
            ctx.close(id, CloseCode::NORMAL, "done").unwrap();
        }
    }
    fn error(&mut self, _: &mut Ctx<'_>, _: ConnId, error: &Error) {
        let _ = self.tx.send(format!("error {error}"));
    }
    fn close(&mut self, ctx: &mut Ctx<'_>, _: ConnId, code: CloseCode, reason: &str) {
        let _ = self.tx.send(format!("close {code} {reason}"));
        ctx.shutdown();
    }
}

struct EchoWithProtocol(Probe);

impl Handler for EchoWithProtocol {
    fn handshake(
        &mut self,
        _: &mut Ctx<'_>,
        _: ConnId,
        request: &ws_proto::handshake::Request,
    ) -> Result<ws_proto::handshake::Accept, ws_proto::handshake::HttpResponse> {
        Ok(request.accept().protocol("echo").unwrap())
    }
    fn message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message) {
        self.0.message(ctx, id, message);
    }
    fn close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, reason: &str) {
        self.0.close(ctx, id, code, reason);
    }
}

#[test]
fn a_client_loop_talks_to_a_server_loop() {
    let (server_tx, server_rx) = mpsc::channel();
    let server = Server::bind("127.0.0.1:0", Options::default(), move |_| {
        EchoWithProtocol(Probe {
            tx: server_tx.clone(),
            echo: true,
        })
    })
    .unwrap();
    let url = format!("ws://{}/echo", server.local_addr().unwrap());
    let _server = server.spawn().unwrap();

    let (tx, rx) = mpsc::channel();
    let client = Server::new(Options::default(), move |_| Client {
        url: url.clone(),
        tx: tx.clone(),
    })
    .unwrap();
    assert_eq!(client.local_addr(), None);
    // The client loop runs on this thread and returns once its handler shuts it down.
    client.run().unwrap();
    let seen: Vec<String> = rx.try_iter().collect();
    assert_eq!(
        seen,
        [
            "connecting false",
            "open Some(\"echo\")",
            "message Text(\"one\")",
            "message Binary([116, 119, 111])",
            "close 1000 ", // the server echoes the code without a reason
        ]
    );
    assert!(matches!(
        common::until(&server_rx, |s| matches!(s, Seen::Close(..))),
        Seen::Close(_, 1000, r) if r == "done"
    ));
}

#[test]
fn a_refused_connection_is_reported_as_an_error() {
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    struct Refused(Sender<String>, u16);
    impl Handler for Refused {
        fn start(&mut self, ctx: &mut Ctx<'_>) {
            ctx.connect(format!("ws://127.0.0.1:{}/", self.1)).unwrap();
        }
        fn error(&mut self, ctx: &mut Ctx<'_>, _: ConnId, error: &Error) {
            let _ = self.0.send(format!("{error}"));
            ctx.shutdown();
        }
        fn open(&mut self, _: &mut Ctx<'_>, _: ConnId) {
            panic!("nothing should be listening");
        }
    }
    let (tx, rx) = mpsc::channel();
    Server::new(Options::default(), move |_| Refused(tx.clone(), port))
        .unwrap()
        .run()
        .unwrap();
    assert!(next(&rx).contains("refused"));
}

#[test]
fn bad_urls_fail_at_connect() {
    // `wss://` is a bad URL only without the feature `tls` (tests/tls.rs has it with).
    const BAD: &[&str] = &[
        #[cfg(not(feature = "tls"))]
        "wss://127.0.0.1/",
        "http://127.0.0.1/",
        "ws://127.0.0.1/#frag",
    ];
    struct Bad(Sender<String>);
    impl Handler for Bad {
        fn start(&mut self, ctx: &mut Ctx<'_>) {
            for url in BAD {
                let error = ctx.connect(*url).unwrap_err();
                let _ = self.0.send(format!("{error}"));
            }
            ctx.shutdown();
        }
    }
    let (tx, rx) = mpsc::channel();
    Server::new(Options::default(), move |_| Bad(tx.clone()))
        .unwrap()
        .run()
        .unwrap();
    let errors: Vec<String> = rx.try_iter().collect();
    assert_eq!(errors.len(), BAD.len());
    let mut errors = errors.iter();
    if cfg!(not(feature = "tls")) {
        assert_eq!(errors.next().unwrap(), "unsupported URL scheme: wss");
    }
    assert!(errors.next().unwrap().contains("invalid WebSocket URL"));
}
