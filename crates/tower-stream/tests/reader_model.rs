//! A property test: `readuntil`/`readuntil_any`/`readline`/`readexactly`/`read` on a
//! `StreamReader` agree with a plain reference model of asyncio's `streams.py` algorithms,
//! over random chunkings of the input, random separators and random limits. Each read is
//! polled by hand; whenever it waits, the next chunk (or the end of the stream) is fed.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use tower_stream::{IncompleteReadError, LimitOverrunError, StreamReader};

/// One read.
#[derive(Debug, Clone)]
enum Op {
    Read(usize),
    ReadExactly(usize),
    ReadLine,
    ReadUntil(Vec<Vec<u8>>),
}

/// What a read gave.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Data(Vec<u8>),
    Incomplete(Vec<u8>, Option<usize>),
    Overrun(usize),
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
