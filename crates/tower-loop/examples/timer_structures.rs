//! The quick benchmark behind docs/decisions/0001-timers.md: three timer structures on the
//! workloads the loop must stay cheap at, plus the real loop end to end.
//!
//! `cargo run --release -p tower-loop --example timer_structures`
//!
//! - `heap`: binary heap with lazy deletion over a slab with generations (`timer_queue.rs`
//!   before decision 0010).
//! - `heap4`: the same over a 4-ary heap (what `timer_queue.rs` does since decision 0010).
//! - `btree`: `BTreeMap<(deadline, seq), payload>` with eager removal (async-io's reactor).
//! - `wheel`: a hashed timing wheel, 1 ms slots × 4096 with a round count per entry (Varghese &
//!   Lauck's scheme 6; tokio's wheel is the hierarchical variant).
//! - `loop`: tower's `EventLoop::call_at` + `TimerHandle::cancel` (payload: a boxed closure).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The operations the comparison needs.
trait TimerQueue {
    /// Adds a timer at `when_ms`; returns its id.
    fn insert(&mut self, when_ms: u64) -> (u64, u32);
    /// Cancels `id`.
    fn cancel(&mut self, id: (u64, u32));
    /// Pops every timer due at `now_ms`, counting them.
    fn fire(&mut self, now_ms: u64) -> usize;
}

/// Lazy-deletion heap over a slab.
#[derive(Default)]
struct Heap {
    /// `(deadline, seq, slot)` entries, live and stale.
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    /// Per slot: the seq of its live entry, or `u64::MAX` when free.
    slots: Vec<u64>,
    /// Free slots.
    free: Vec<u32>,
    /// Last sequence number handed out.
    seq: u64,
    /// Live entries.
    live: usize,
}

impl TimerQueue for Heap {
    fn insert(&mut self, when: u64) -> (u64, u32) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = self.seq;
                s
            }
            None => {
                self.slots.push(self.seq);
                (self.slots.len() - 1) as u32
            }
        };
        self.heap.push(Reverse((when, self.seq, slot)));
        self.live += 1;
        (self.seq, slot)
    }
    fn cancel(&mut self, (seq, slot): (u64, u32)) {
        if self.slots[slot as usize] == seq {
            self.slots[slot as usize] = u64::MAX;
            self.free.push(slot);
            self.live -= 1;
            if self.heap.len() > 1024 && self.heap.len() > 2 * self.live {
                let slots = &self.slots;
                self.heap
                    .retain(|Reverse((_, s, i))| slots[*i as usize] == *s);
            }
        }
    }
    fn fire(&mut self, now: u64) -> usize {
        let mut n = 0;
        while let Some(Reverse((when, seq, slot))) = self.heap.peek().copied() {
            if self.slots[slot as usize] != seq {
                self.heap.pop();
                continue;
            }
            if when > now {
                break;
            }
            self.heap.pop();
            self.slots[slot as usize] = u64::MAX;
            self.free.push(slot);
            self.live -= 1;
            n += 1;
        }
        n
    }
}

/// Lazy-deletion 4-ary heap over a slab (`(deadline, seq, slot)` entries, 24 bytes).
#[derive(Default)]
struct Heap4 {
    /// The 4-ary min-heap: the children of `i` are `4i + 1 ..= 4i + 4`.
    heap: Vec<(u64, u64, u32)>,
    /// Per slot: the seq of its live entry, or `u64::MAX` when free.
    slots: Vec<u64>,
    /// Free slots.
    free: Vec<u32>,
    /// Last sequence number handed out.
    seq: u64,
    /// Live entries.
    live: usize,
}

impl Heap4 {
    fn key(e: &(u64, u64, u32)) -> (u64, u64) {
        (e.0, e.1)
    }
    fn min_child(&self, first: usize) -> usize {
        let end = (first + 4).min(self.heap.len());
        let mut m = first;
        for j in first + 1..end {
            if Self::key(&self.heap[j]) < Self::key(&self.heap[m]) {
                m = j;
            }
        }
        m
    }
    fn sift_up(&mut self, mut i: usize, e: (u64, u64, u32)) {
        while i > 0 {
            let p = (i - 1) / 4;
            if Self::key(&e) >= Self::key(&self.heap[p]) {
                break;
            }
            self.heap[i] = self.heap[p];
            i = p;
        }
        self.heap[i] = e;
    }
    fn sift_down(&mut self, mut i: usize) {
        let e = self.heap[i];
        while 4 * i + 1 < self.heap.len() {
            let m = self.min_child(4 * i + 1);
            if Self::key(&self.heap[m]) >= Self::key(&e) {
                break;
            }
            self.heap[i] = self.heap[m];
            i = m;
        }
        self.heap[i] = e;
    }
    fn pop(&mut self) {
        let Some(last) = self.heap.pop() else { return };
        if self.heap.is_empty() {
            return;
        }
        let mut hole = 0;
        while 4 * hole + 1 < self.heap.len() {
            let m = self.min_child(4 * hole + 1);
            self.heap[hole] = self.heap[m];
            hole = m;
        }
        self.sift_up(hole, last);
    }
}

impl TimerQueue for Heap4 {
    fn insert(&mut self, when: u64) -> (u64, u32) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = self.seq;
                s
            }
            None => {
                self.slots.push(self.seq);
                (self.slots.len() - 1) as u32
            }
        };
        let e = (when, self.seq, slot);
        self.heap.push(e);
        self.sift_up(self.heap.len() - 1, e);
        self.live += 1;
        (self.seq, slot)
    }
    fn cancel(&mut self, (seq, slot): (u64, u32)) {
        if self.slots[slot as usize] == seq {
            self.slots[slot as usize] = u64::MAX;
            self.free.push(slot);
            self.live -= 1;
            if self.heap.len() > 1024 && self.heap.len() > 2 * self.live {
                let slots = &self.slots;
                self.heap.retain(|(_, s, i)| slots[*i as usize] == *s);
                for i in (0..=(self.heap.len().saturating_sub(2)) / 4).rev() {
                    if i < self.heap.len() {
                        self.sift_down(i);
                    }
                }
            }
        }
    }
    fn fire(&mut self, now: u64) -> usize {
        let mut n = 0;
        while let Some(&(when, seq, slot)) = self.heap.first() {
            if self.slots[slot as usize] != seq {
                self.pop();
                continue;
            }
            if when > now {
                break;
            }
            self.pop();
            self.slots[slot as usize] = u64::MAX;
            self.free.push(slot);
            self.live -= 1;
            n += 1;
        }
        n
    }
}

/// BTreeMap with eager removal.
#[derive(Default)]
struct BTree {
    /// `(deadline, seq)` → payload.
    map: BTreeMap<(u64, u64), u32>,
    /// Last sequence number handed out.
    seq: u64,
}

impl TimerQueue for BTree {
    fn insert(&mut self, when: u64) -> (u64, u32) {
        self.seq += 1;
        self.map.insert((when, self.seq), 0);
        (self.seq, when as u32)
    }
    fn cancel(&mut self, (seq, when): (u64, u32)) {
        self.map.remove(&(u64::from(when), seq));
    }
    fn fire(&mut self, now: u64) -> usize {
        let mut n = 0;
        while let Some(entry) = self.map.first_entry() {
            if entry.key().0 > now {
                break;
            }
            entry.remove();
            n += 1;
        }
        n
    }
}

/// Hashed wheel: 4096 one-ms slots; an entry fires when its slot comes round with rounds == 0.
struct Wheel {
    /// Entry ids per 1 ms slot (stale ids dropped when the slot comes round).
    slots: Vec<Vec<u32>>,
    /// `(deadline, seq)` per entry id; seq `u64::MAX` marks a free id.
    entries: Vec<(u64, u64)>,
    /// Free entry ids.
    free: Vec<u32>,
    /// Last sequence number handed out.
    seq: u64,
    /// The next millisecond the wheel will process.
    now: u64,
}

impl Default for Wheel {
    fn default() -> Self {
        Wheel {
            slots: vec![Vec::new(); 4096],
            entries: Vec::new(),
            free: Vec::new(),
            seq: 0,
            now: 0,
        }
    }
}

impl TimerQueue for Wheel {
    fn insert(&mut self, when: u64) -> (u64, u32) {
        self.seq += 1;
        let id = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = (when, self.seq);
                i
            }
            None => {
                self.entries.push((when, self.seq));
                (self.entries.len() - 1) as u32
            }
        };
        self.slots[(when % 4096) as usize].push(id);
        (self.seq, id)
    }
    fn cancel(&mut self, (seq, id): (u64, u32)) {
        // O(1): mark; the slot drops the stale id when it comes round.
        if self.entries[id as usize].1 == seq {
            self.entries[id as usize].1 = u64::MAX;
            self.free.push(id);
        }
    }
    fn fire(&mut self, now: u64) -> usize {
        let mut n = 0;
        while self.now <= now {
            let slot = &mut self.slots[(self.now % 4096) as usize];
            let entries = &mut self.entries;
            let free = &mut self.free;
            let t = self.now;
            slot.retain(|&id| {
                let (when, seq) = entries[id as usize];
                if seq == u64::MAX {
                    return false;
                }
                if when <= t {
                    entries[id as usize].1 = u64::MAX;
                    free.push(id);
                    n += 1;
                    return false;
                }
                true
            });
            self.now += 1;
        }
        n
    }
}

/// A deterministic spread of deadlines (ms) over `range`.
fn deadline(i: u64, range: u64) -> u64 {
    (i.wrapping_mul(2_654_435_761) >> 7) % range
}

/// 10^6 timeouts (1..10 s) registered, then all cancelled before firing; ns per timer.
fn timeouts<Q: TimerQueue + Default>() -> f64 {
    let n = 1_000_000u64;
    let mut q = Q::default();
    let t = Instant::now();
    let ids: Vec<_> = (0..n).map(|i| q.insert(1000 + deadline(i, 9000))).collect();
    for id in ids {
        q.cancel(id);
    }
    black_box(q.fire(0));
    t.elapsed().as_nanos() as f64 / n as f64
}

/// 10^5 pending, then 10^6 × (insert a new timeout, cancel one of the pending), time advancing
/// 1 ms every 1000 ops; ns per insert+cancel.
fn churn<Q: TimerQueue + Default>() -> f64 {
    let pending = 100_000usize;
    let ops = 1_000_000u64;
    let mut q = Q::default();
    let mut ring: Vec<_> = (0..pending as u64)
        .map(|i| q.insert(1000 + deadline(i, 9000)))
        .collect();
    let t = Instant::now();
    let mut now = 0;
    for i in 0..ops {
        if i % 1000 == 0 {
            now += 1;
            black_box(q.fire(now));
        }
        let k = (i as usize * 7919) % pending;
        q.cancel(ring[k]);
        ring[k] = q.insert(now + 1000 + deadline(i, 9000));
    }
    t.elapsed().as_nanos() as f64 / ops as f64
}

/// 10^5 sleeps spread over 0..100 ms, all fired in order; ns per timer.
fn fire_all<Q: TimerQueue + Default>() -> f64 {
    let n = 100_000u64;
    let mut q = Q::default();
    let t = Instant::now();
    for i in 0..n {
        q.insert(deadline(i, 100));
    }
    let mut fired = 0;
    for now in 0..100 {
        fired += q.fire(now);
    }
    assert_eq!(fired, n as usize);
    t.elapsed().as_nanos() as f64 / n as f64
}

/// The real loop: 10^6 call_at + cancel; ns per timer.
fn real_loop() -> f64 {
    let lp = tower_loop::EventLoop::new().expect("loop");
    let n = 1_000_000u64;
    let base = lp.time();
    let t = Instant::now();
    let handles: Vec<_> = (0..n)
        .map(|i| {
            lp.call_at(
                base + Duration::from_millis(1000 + deadline(i, 9000)),
                || {},
            )
        })
        .collect();
    for h in &handles {
        h.cancel();
    }
    let ns = t.elapsed().as_nanos() as f64 / n as f64;
    assert_eq!(lp.pending_timers(), 0);
    ns
}

/// Best of three.
fn best(f: fn() -> f64) -> f64 {
    (0..3).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn main() {
    println!(
        "| structure | 10^6 timeouts, all cancelled (ns/timer) | churn at 10^5 pending (ns/insert+cancel) | 10^5 sleeps fired (ns/timer) |"
    );
    println!("|---|---|---|---|");
    println!(
        "| heap (lazy deletion) | {:.0} | {:.0} | {:.0} |",
        best(timeouts::<Heap>),
        best(churn::<Heap>),
        best(fire_all::<Heap>)
    );
    println!(
        "| 4-ary heap (lazy deletion) | {:.0} | {:.0} | {:.0} |",
        best(timeouts::<Heap4>),
        best(churn::<Heap4>),
        best(fire_all::<Heap4>)
    );
    println!(
        "| btree (eager) | {:.0} | {:.0} | {:.0} |",
        best(timeouts::<BTree>),
        best(churn::<BTree>),
        best(fire_all::<BTree>)
    );
    println!(
        "| hashed wheel (1 ms) | {:.0} | {:.0} | {:.0} |",
        best(timeouts::<Wheel>),
        best(churn::<Wheel>),
        best(fire_all::<Wheel>)
    );
    println!(
        "| tower loop call_at+cancel | {:.0} | - | - |",
        best(real_loop)
    );
}
