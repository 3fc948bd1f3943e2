//! A property test: `readuntil`/`readuntil_any`/`readline`/`readexactly`/`read` on a
//! `StreamReader` agree with a plain reference model of asyncio's `streams.py` algorithms,
//! over random chunkings of the input, random separators and random limits. Each read is
//! polled by hand; whenever it waits, the next chunk (or the end of the stream) is fed.
//! A second property feeds large chunks as a transport does (through the protocol's
//! `get_buffer_uninit`/`get_buffer`, or by `feed_data`), with `readexactly` sizes above the
//! direct-read threshold and reads dropped mid-way, so random chunkings hit the direct path.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use tower_protocol::{Buffered, BufferedProtocol};
use tower_stream::{IncompleteReadError, LimitOverrunError, StreamReader, StreamReaderProtocol};

/// One read.
#[derive(Debug, Clone)]
enum Op {
    Read(usize),
    ReadExactly(usize),
    ReadLine,
    ReadUntil(Vec<Vec<u8>>),
    /// `readexactly(n)` polled once, then (if it waits) one chunk arrives and it is dropped.
    DroppedExactly(usize),
}

/// What a read gave.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Data(Vec<u8>),
    Incomplete(Vec<u8>, Option<usize>),
    Overrun(usize),
    /// Dropped while waiting: took nothing.
    Dropped,
}

/// The reference: asyncio's algorithms on a `Vec`, fed from `chunks` whenever a read waits.
struct Model {
    buf: Vec<u8>,
    eof: bool,
    limit: usize,
    chunks: std::vec::IntoIter<Vec<u8>>,
}

impl Model {
    /// asyncio's `_wait_for_data`, here: the next chunk arrives (or the end).
    fn wait(&mut self) {
        match self.chunks.next() {
            Some(c) => self.buf.extend_from_slice(&c),
            None => self.eof = true,
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    fn run(&mut self, op: &Op) -> Got {
        match op {
            Op::Read(n) => {
                if *n == 0 {
                    return Got::Data(Vec::new());
                }
                if self.buf.is_empty() && !self.eof {
                    self.wait();
                    // asyncio returns after one wake; an empty chunk never wakes it.
                    while self.buf.is_empty() && !self.eof {
                        self.wait();
                    }
                }
                Got::Data(self.take(*n))
            }
            Op::ReadExactly(n) => {
                if *n == 0 {
                    return Got::Data(Vec::new());
                }
                while self.buf.len() < *n {
                    if self.eof {
                        let all = self.take(usize::MAX);
                        return Got::Incomplete(all, Some(*n));
                    }
                    self.wait();
                }
                Got::Data(self.take(*n))
            }
            Op::ReadUntil(seps) => self.readuntil(seps),
            Op::DroppedExactly(n) => {
                if self.buf.len() >= *n || self.eof {
                    return self.run(&Op::ReadExactly(*n));
                }
                self.wait();
                Got::Dropped
            }
            Op::ReadLine => match self.readuntil(&[b"\n".to_vec()]) {
                Got::Incomplete(partial, _) => Got::Data(partial),
                Got::Overrun(consumed) => {
                    if self.buf.get(consumed) == Some(&b'\n') {
                        self.buf.drain(..consumed + 1);
                    } else {
                        self.buf.clear();
                    }
                    Got::Overrun(consumed)
                }
                other => other,
            },
        }
    }

    fn readuntil(&mut self, seps: &[Vec<u8>]) -> Got {
        let mut seps = seps.to_vec();
        seps.sort_by_key(|s| s.len());
        let min = seps[0].len();
        let max = seps[seps.len() - 1].len();
        let mut offset = 0usize;
        let (start, end) = loop {
            let buflen = self.buf.len();
            if buflen >= offset + min {
                let mut best: Option<(usize, usize)> = None;
                for sep in &seps {
                    let found = (offset..=buflen - sep.len().min(buflen)).find(|&i| {
                        i + sep.len() <= buflen && self.buf[i..i + sep.len()] == sep[..]
                    });
                    if let Some(i) = found {
                        let e = i + sep.len();
                        if best.is_none_or(|(_, be)| e < be) {
                            best = Some((i, e));
                        }
                    }
                }
                if let Some(b) = best {
                    break b;
                }
                offset = (buflen + 1).saturating_sub(max);
                if offset > self.limit {
                    return Got::Overrun(offset);
                }
            }
            if self.eof {
                let all = self.take(usize::MAX);
                return Got::Incomplete(all, None);
            }
            self.wait();
        };
        if start > self.limit {
            return Got::Overrun(start);
        }
        Got::Data(self.take(end))
    }
}

/// Runs `op` on the real reader, feeding the next chunk (or the end) whenever it waits.
fn real(reader: &StreamReader, chunks: &mut std::vec::IntoIter<Vec<u8>>, op: &Op) -> Got {
    let seps: Vec<&[u8]>;
    let result = match op {
        Op::Read(n) => drive(reader, chunks, reader.read(*n)),
        Op::ReadExactly(n) => drive(reader, chunks, reader.readexactly(*n)),
        Op::ReadLine => drive(reader, chunks, reader.readline()),
        Op::DroppedExactly(_) => unreachable!("only in the transport-fed property"),
        Op::ReadUntil(s) if s.len() == 1 => drive(reader, chunks, reader.readuntil(&s[0])),
        Op::ReadUntil(s) => {
            seps = s.iter().map(|v| v.as_slice()).collect();
            drive(reader, chunks, reader.readuntil_any(&seps))
        }
    };
    match result {
        Ok(v) => Got::Data(v),
        Err(e) => {
            if let Some(i) = IncompleteReadError::from_io(&e) {
                Got::Incomplete(i.partial.clone(), i.expected)
            } else if let Some(o) = LimitOverrunError::from_io(&e) {
                Got::Overrun(o.consumed)
            } else {
                panic!("unexpected error {e:?}")
            }
        }
    }
}

/// Polls `fut`; while it is pending, feeds the next chunk or the end.
fn drive<F: Future<Output = std::io::Result<Vec<u8>>>>(
    reader: &StreamReader,
    chunks: &mut std::vec::IntoIter<Vec<u8>>,
    fut: F,
) -> std::io::Result<Vec<u8>> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
            return r;
        }
        match chunks.next() {
            Some(c) => reader.feed_data(&c),
            None => reader.feed_eof(),
        }
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let sep = prop::sample::select(vec![
        b"\n".to_vec(),
        b"\r\n".to_vec(),
        b"ab".to_vec(),
        b"aba".to_vec(),
        b"b".to_vec(),
        b"\r".to_vec(),
    ]);
    prop_oneof![
        (0usize..12).prop_map(Op::Read),
        (0usize..20).prop_map(Op::ReadExactly),
        Just(Op::ReadLine),
        prop::collection::vec(sep, 1..4).prop_map(Op::ReadUntil),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn reads_match_the_reference_model(
        chunks in prop::collection::vec(
            prop::collection::vec(prop::sample::select(b"ab\r\nx".to_vec()), 0..12),
            0..12,
        ),
        limit in 1usize..16,
        ops in prop::collection::vec(op_strategy(), 1..12),
    ) {
        // Empty chunks are dropped by feed_data (asyncio's `if not data: return`): the model
        // must not count them as a wake-up either.
        let chunks: Vec<Vec<u8>> = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let reader = StreamReader::with_limit(limit).unwrap();
        let mut model = Model { buf: Vec::new(), eof: false, limit, chunks: chunks.clone().into_iter() };
        let mut feed = chunks.into_iter();
        for op in &ops {
            let want = model.run(op);
            let got = real(&reader, &mut feed, op);
            prop_assert_eq!(&got, &want, "op {:?}", op);
        }
        // What is left is the same too.
        for c in feed.by_ref() {
            reader.feed_data(&c);
        }
        reader.feed_eof();
        let rest = tower_coro::block_on(reader.read_to_end()).unwrap();
        let mut left = model.buf.clone();
        for c in model.chunks.by_ref() {
            left.extend_from_slice(&c);
        }
        prop_assert_eq!(rest, left);
    }
}

/// A reader fed as a transport feeds it, or by hand.
struct Fed {
    reader: StreamReader,
    proto: Rc<RefCell<Buffered<StreamReaderProtocol>>>,
}

impl Fed {
    /// Delivers `chunk` whole: by `feed_data` if `by_hand`, else as a transport's reads do —
    /// `get_buffer_uninit` first (the direct read's spare capacity), else `get_buffer` — until
    /// every byte is in.
    fn deliver(&self, chunk: &[u8], by_hand: bool) {
        if by_hand {
            self.reader.feed_data(chunk);
            return;
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            let mut g = self.proto.borrow_mut();
            let p: &mut StreamReaderProtocol = &mut g.0;
            if let Some(buf) = p.get_buffer_uninit(0) {
                assert!(!buf.is_empty());
                let n = rest.len().min(buf.len());
                for (d, s) in buf.iter_mut().zip(&rest[..n]) {
                    d.write(*s);
                }
                // SAFETY: the first `n` bytes of the lent slice were just written.
                unsafe { p.buffer_updated_uninit(n) };
                rest = &rest[n..];
            } else {
                let buf = p.get_buffer(0);
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                p.buffer_updated(n);
                rest = &rest[n..];
            }
        }
    }

    /// The next chunk, or the end of the stream.
    fn next(&self, chunks: &mut std::vec::IntoIter<(Vec<u8>, bool)>) {
        match chunks.next() {
            Some((c, by_hand)) => self.deliver(&c, by_hand),
            None => self.reader.feed_eof(),
        }
    }

    /// Polls `fut`, delivering a chunk whenever it waits; `drop_after_one` drops it after the
    /// first chunk instead.
    fn drive<F: Future<Output = std::io::Result<Vec<u8>>>>(
        &self,
        chunks: &mut std::vec::IntoIter<(Vec<u8>, bool)>,
        fut: F,
        drop_after_one: bool,
    ) -> Option<std::io::Result<Vec<u8>>> {
        let mut fut = pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
                return Some(r);
            }
            self.next(chunks);
            if drop_after_one {
                return None;
            }
        }
    }

    fn run(&self, chunks: &mut std::vec::IntoIter<(Vec<u8>, bool)>, op: &Op) -> Got {
        let r = &self.reader;
        let result = match op {
            Op::Read(n) => self.drive(chunks, r.read(*n), false),
            Op::ReadExactly(n) => self.drive(chunks, r.readexactly(*n), false),
            Op::DroppedExactly(n) => self.drive(chunks, r.readexactly(*n), true),
            Op::ReadLine => self.drive(chunks, r.readline(), false),
            Op::ReadUntil(s) => self.drive(chunks, r.readuntil(&s[0]), false),
        };
        match result {
            None => Got::Dropped,
            Some(Ok(v)) => Got::Data(v),
            Some(Err(e)) => {
                if let Some(i) = IncompleteReadError::from_io(&e) {
                    Got::Incomplete(i.partial.clone(), i.expected)
                } else if let Some(o) = LimitOverrunError::from_io(&e) {
                    Got::Overrun(o.consumed)
                } else {
                    panic!("unexpected error {e:?}")
                }
            }
        }
    }
}

/// `len` bytes of lines over a small alphabet, from `seed`.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b"abcdefgh\n"[(x % 9) as usize]
        })
        .collect()
}

fn big_op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0usize..20_000).prop_map(Op::Read),
        3 => (0usize..120_000).prop_map(Op::ReadExactly),
        2 => (16 * 1024usize..120_000).prop_map(Op::DroppedExactly),
        1 => Just(Op::ReadLine),
        1 => Just(Op::ReadUntil(vec![b"h\n".to_vec()])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn large_reads_fed_by_a_transport_match_the_reference_model(
        chunks in prop::collection::vec((1usize..40_000, any::<u64>(), prop::bool::weighted(0.2)), 0..10),
        limit in 1usize..200_000,
        ops in prop::collection::vec(big_op_strategy(), 1..10),
    ) {
        let chunks: Vec<(Vec<u8>, bool)> =
            chunks.into_iter().map(|(len, seed, hand)| (bytes(len, seed), hand)).collect();
        let proto = Rc::new(RefCell::new(StreamReaderProtocol::new(limit).unwrap()));
        let fed = Fed { reader: StreamReader::from_protocol(&proto), proto };
        let mut model = Model {
            buf: Vec::new(),
            eof: false,
            limit,
            chunks: chunks.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>().into_iter(),
        };
        let mut feed = chunks.into_iter();
        for op in &ops {
            let want = model.run(op);
            let got = fed.run(&mut feed, op);
            prop_assert_eq!(&got, &want, "op {:?}", op);
        }
        for (c, hand) in feed.by_ref() {
            fed.deliver(&c, hand);
        }
        fed.reader.feed_eof();
        let rest = tower_coro::block_on(fed.reader.read_to_end()).unwrap();
        let mut left = model.buf.clone();
        for c in model.chunks.by_ref() {
            left.extend_from_slice(&c);
        }
        prop_assert_eq!(rest, left);
    }
}
