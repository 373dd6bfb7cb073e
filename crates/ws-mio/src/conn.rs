//! One connection's state, and the slab of connections of an event loop.

use std::net::SocketAddr;

use ws_proto::handshake::{ClientHandshake, ServerHandshake};
use ws_proto::{Connection, Instant, Role};

use crate::transport::Transport;
use crate::ConnId;

/// Where a connection is in its life.
pub(crate) enum Phase {
    /// Server side: the opening handshake (ws-proto's state machine reads the request,
    /// answers it and runs the handshake timeout).
    Accepting(Box<ServerHandshake>),
    /// Client side: connecting, then the opening handshake. `connected` is set once the
    /// non-blocking connect has completed.
    Connecting {
        handshake: Box<ClientHandshake>,
        connected: bool,
    },
    /// The WebSocket connection is open (or closing, as far as the protocol goes). Boxed:
    /// the state machine is most of a connection's memory, and connections in the other
    /// phases do without it.
    Open(Box<Connection>),
    /// No more WebSocket traffic: write what is left, send FIN, wait for the peer's FIN (at
    /// most until `Conn::deadline`), then close.
    Closing,
}

/// The connection-level flags, kept together to keep [`Conn`] small.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Flags {
    /// The kernel may have more bytes to read (mio is edge-triggered: set by a readable
    /// event, cleared by a read that would block).
    pub(crate) read_ready: bool,
    /// Reading is suspended: the output buffer reached the high watermark.
    pub(crate) paused: bool,
    /// Queued in the event loop's list of connections to flush.
    pub(crate) dirty: bool,
    /// The handler has been told `open` and will be told `close`.
    pub(crate) opened: bool,
    /// The write side has been shut down (FIN sent).
    pub(crate) write_closed: bool,
    /// The peer's FIN has been read.
    pub(crate) eof: bool,
    /// The application asked to drop the connection without a closing handshake.
    pub(crate) abort: bool,
}

/// One TCP connection (plain or TLS) and its WebSocket state.
pub(crate) struct Conn {
    pub(crate) id: ConnId,
    pub(crate) io: Transport,
    pub(crate) peer: SocketAddr,
    pub(crate) role: Role,
    pub(crate) phase: Phase,
    /// Bytes to write before any frame (the handshake's request or response); `out[out_pos..]`
    /// is not written yet. Freed once fully written. An open connection queues its frames
    /// itself.
    pub(crate) out: Vec<u8>,
    pub(crate) out_pos: usize,
    pub(crate) flags: Flags,
    /// The FIN wait deadline (in `Closing`); the handshake's deadline is its machine's.
    pub(crate) deadline: Option<Instant>,
    /// The deadline of this connection's live entry in the timer heap.
    pub(crate) timer_at: Option<Instant>,
    /// When a data message was last sent or received (for the idle timeout).
    pub(crate) last_activity: Instant,
    /// The subprotocol agreed in the handshake.
    pub(crate) protocol: Option<Box<str>>,
}

impl Conn {
    /// Output bytes not yet accepted by the kernel, including those the protocol has queued
    /// and not handed out yet.
    pub(crate) fn buffered(&self) -> usize {
        let queued = match &self.phase {
            Phase::Open(ws) => ws.buffered_amount(),
            _ => 0,
        };
        self.out.len() - self.out_pos + queued
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open(_))
    }
}

struct Slot {
    generation: u32,
    conn: Option<Box<Conn>>,
}

/// The connections of one event loop, by slot; a slot's generation changes each time it is
/// freed, so a stale [`ConnId`] never finds a newer connection.
#[derive(Default)]
pub(crate) struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
    len: usize,
}

impl Slab {
    /// The slot and generation the next [`Slab::insert`] will use.
    pub(crate) fn next_key(&self) -> (u32, u32) {
        match self.free.last() {
            Some(&slot) => (slot, self.slots[slot as usize].generation),
            None => (self.slots.len() as u32, 0),
        }
    }

    /// Stores a connection made for the key of [`Slab::next_key`].
    pub(crate) fn insert(&mut self, conn: Box<Conn>) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    conn: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        debug_assert_eq!(conn.id.slot, slot);
        self.slots[slot as usize].conn = Some(conn);
        self.len += 1;
        slot
    }

    pub(crate) fn remove(&mut self, slot: u32) -> Option<Box<Conn>> {
        let entry = self.slots.get_mut(slot as usize)?;
        let conn = entry.conn.take()?;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(slot);
        self.len -= 1;
        Some(conn)
    }

    pub(crate) fn get(&self, slot: u32) -> Option<&Conn> {
        self.slots.get(slot as usize)?.conn.as_deref()
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> Option<&mut Conn> {
        self.slots.get_mut(slot as usize)?.conn.as_deref_mut()
    }

    /// The connection with this id, if it is still there.
    pub(crate) fn by_id(&self, id: ConnId) -> Option<&Conn> {
        self.get(id.slot).filter(|c| c.id == id)
    }

    pub(crate) fn by_id_mut(&mut self, id: ConnId) -> Option<&mut Conn> {
        self.get_mut(id.slot).filter(|c| c.id == id)
    }

    pub(crate) fn generation(&self, slot: u32) -> Option<u32> {
        self.slots.get(slot as usize).map(|s| s.generation)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The number of slots, used or free: one past the highest slot.
    pub(crate) fn capacity(&self) -> u32 {
        self.slots.len() as u32
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Conn> + '_ {
        self.slots.iter().filter_map(|s| s.conn.as_deref())
    }
}
