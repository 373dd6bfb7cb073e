//! The output queue: encoded frames waiting to be written, in order.
//!
//! Small frames are appended to one buffer, so the replies to a batch of input go out in one
//! write. A large payload the application handed over is queued as a buffer of its own, after
//! its header, without being copied. The caller writes the queue with a vectored write of its
//! slices ([`Output::slices`]) and reports how much the transport took ([`Output::advance`]):
//! a partial write resumes exactly there, so a frame is never cut.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::pool::BufferPool;

#[derive(Debug, Default)]
pub(crate) struct Output {
    /// The segment written first; `head[pos..]` is not written yet.
    head: Vec<u8>,
    pos: usize,
    /// The segments after it, in order.
    rest: VecDeque<Vec<u8>>,
    /// Whether frames may be appended to the last segment (not after a handed-over payload).
    open: bool,
    /// Bytes not written yet, in all segments.
    len: usize,
}

impl Output {
    /// Bytes queued and not yet written.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The buffer to append `needed` more bytes of frames to: the last segment if it takes
    /// appends, else a new one (from `pool` when it has one).
    pub(crate) fn tail(&mut self, pool: &mut BufferPool, needed: usize) -> &mut Vec<u8> {
        if self.len == 0 {
            // Nothing queued: start from the head, reusing its memory or a pooled buffer.
            self.head.clear();
            self.pos = 0;
            self.open = true;
            if self.head.capacity() < needed {
                if let Some(buffer) = pool.take() {
                    let small = core::mem::replace(&mut self.head, buffer);
                    pool.put(small);
                }
            }
        } else if !self.open {
            self.rest.push_back(pool.take().unwrap_or_default());
            self.open = true;
        }
        let tail = self.rest.back_mut().unwrap_or(&mut self.head);
        tail.reserve(needed);
        tail
    }

    /// Counts `n` bytes just appended to [`tail`](Self::tail).
    pub(crate) fn appended(&mut self, n: usize) {
        self.len += n;
    }

    /// Queues `payload` as a segment of its own, after everything queued (its header, appended
    /// with [`tail`](Self::tail) just before).
    pub(crate) fn push_owned(&mut self, payload: Vec<u8>) {
        if payload.is_empty() {
            return;
        }
        self.len += payload.len();
        if self.len == payload.len() {
            self.head = payload;
            self.pos = 0;
        } else {
            self.rest.push_back(payload);
        }
        self.open = false;
    }

    /// Fills `slices` with the queued bytes in order, as many segments as fit; returns how
    /// many it filled.
    pub(crate) fn slices<'a>(&'a self, slices: &mut [&'a [u8]]) -> usize {
        if self.len == 0 {
            return 0;
        }
        let segments = core::iter::once(&self.head[self.pos..])
            .chain(self.rest.iter().map(Vec::as_slice))
            .filter(|s| !s.is_empty());
        let mut filled = 0;
        for (slot, segment) in slices.iter_mut().zip(segments) {
            *slot = segment;
            filled += 1;
        }
        filled
    }

    /// `n` bytes from the front were written: drops them; buffers written in full go to
    /// `pool`.
    pub(crate) fn advance(&mut self, mut n: usize, pool: &mut BufferPool) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let left = self.head.len() - self.pos;
            if n < left {
                self.pos += n;
                return;
            }
            n -= left;
            self.next_segment(pool);
        }
        if self.len == 0 {
            self.release(pool);
        } else if self.pos == self.head.len() {
            self.next_segment(pool);
        }
    }

    /// Moves every queued byte to the end of `out`; returns how many. When `out` is empty and
    /// one whole buffer is queued, the buffers are swapped instead of copied.
    pub(crate) fn take_into(&mut self, out: &mut Vec<u8>, pool: &mut BufferPool) -> usize {
        let n = self.len;
        if n == 0 {
            return 0;
        }
        if out.is_empty() && self.pos == 0 && self.rest.is_empty() {
            // The caller's empty buffer becomes the head, for the next frames.
            core::mem::swap(out, &mut self.head);
            self.len = 0;
            self.open = false;
            return n;
        } else {
            out.reserve(n);
            out.extend_from_slice(&self.head[self.pos..]);
            for segment in &self.rest {
                out.extend_from_slice(segment);
            }
        }
        self.advance(n, pool);
        n
    }

    /// Replaces the head with the next segment, giving the old one to `pool`.
    fn next_segment(&mut self, pool: &mut BufferPool) {
        let next = self.rest.pop_front().unwrap_or_default();
        let done = core::mem::replace(&mut self.head, next);
        self.pos = 0;
        pool.put(done);
        if self.rest.is_empty() && self.head.is_empty() {
            self.open = false;
        }
    }

    /// Everything is written: the head's memory goes back to the pool, so an idle connection
    /// holds none.
    fn release(&mut self, pool: &mut BufferPool) {
        while let Some(segment) = self.rest.pop_front() {
            pool.put(segment);
        }
        pool.put(core::mem::take(&mut self.head));
        self.pos = 0;
        self.open = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn queue(output: &mut Output, pool: &mut BufferPool, bytes: &[u8]) {
        output.tail(pool, bytes.len()).extend_from_slice(bytes);
        output.appended(bytes.len());
    }

    fn drain_in_writes_of(output: &mut Output, pool: &mut BufferPool, step: usize) -> Vec<u8> {
        let mut written = Vec::new();
        while !output.is_empty() {
            let mut slices = [&[][..]; 4];
            let n = output.slices(&mut slices);
            let mut budget = step;
            let mut took = 0;
            for slice in &slices[..n] {
                let k = slice.len().min(budget);
                written.extend_from_slice(&slice[..k]);
                budget -= k;
                took += k;
            }
            output.advance(took, pool);
        }
        written
    }

    #[test]
    fn partial_writes_resume_exactly_where_they_stopped() {
        for step in [1, 2, 3, 7, 100, 10_000] {
            let mut pool = BufferPool::default();
            let mut output = Output::default();
            queue(&mut output, &mut pool, b"head1");
            output.push_owned(vec![b'x'; 300]);
            queue(&mut output, &mut pool, b"head2");
            output.push_owned(vec![b'y'; 50]);
            output.push_owned(vec![b'z'; 20]);
            queue(&mut output, &mut pool, b"tail");
            let mut expected = b"head1".to_vec();
            expected.extend(vec![b'x'; 300]);
            expected.extend_from_slice(b"head2");
            expected.extend(vec![b'y'; 50]);
            expected.extend(vec![b'z'; 20]);
            expected.extend_from_slice(b"tail");
            assert_eq!(output.len(), expected.len());
            assert_eq!(drain_in_writes_of(&mut output, &mut pool, step), expected);
            assert_eq!(output.len(), 0);
        }
    }

    #[test]
    fn small_frames_share_one_buffer_and_the_buffer_returns_to_the_pool() {
        let mut pool = BufferPool::default();
        let mut output = Output::default();
        queue(&mut output, &mut pool, b"one");
        queue(&mut output, &mut pool, b"two");
        let mut slices = [&[][..]; 4];
        assert_eq!(output.slices(&mut slices), 1);
        assert_eq!(slices[0], b"onetwo");
        output.advance(6, &mut pool);
        assert!(output.is_empty());
        assert_eq!(pool.len(), 1);
        let mut slices = [&[][..]; 4];
        assert_eq!(output.slices(&mut slices), 0);
    }

    #[test]
    fn take_into_swaps_a_single_buffer_and_copies_several() {
        let mut pool = BufferPool::default();
        let mut output = Output::default();
        queue(&mut output, &mut pool, b"abc");
        let mut out = Vec::new();
        assert_eq!(output.take_into(&mut out, &mut pool), 3);
        assert_eq!(out, b"abc");
        queue(&mut output, &mut pool, b"h");
        output.push_owned(b"payload".to_vec());
        assert_eq!(output.take_into(&mut out, &mut pool), 8);
        assert_eq!(out, b"abchpayload");
        assert!(output.is_empty());
    }
}
