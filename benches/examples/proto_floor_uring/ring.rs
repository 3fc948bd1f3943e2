//! A minimal io_uring for the floor program: the ring's set-up and mappings, pushing SQEs,
//! reading CQEs, `io_uring_enter` (plain and with `IORING_ENTER_EXT_ARG`), and one provided-buffer
//! ring (`IORING_REGISTER_PBUF_RING`). Raw rustix calls, no liburing; only what
//! `proto_floor`'s io_uring servers use.
//!
//! The ring is used by the thread that created it (`IORING_SETUP_SINGLE_ISSUER`); the shared
//! indices follow the kernel's protocol: the SQ tail and the CQ head are ours (we store them with
//! release ordering after writing/reading the entries), the SQ head and the CQ tail are the
//! kernel's (we load them with acquire ordering before reading what they cover).

use std::ffi::c_void;
use std::os::fd::{AsFd, OwnedFd};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};

use rustix::io::{Errno, Result};
use rustix::io_uring::{
    IORING_OFF_CQ_RING, IORING_OFF_SQ_RING, IORING_OFF_SQES, IoringCqeFlags, IoringEnterFlags,
    IoringFeatureFlags, IoringRegisterOp, IoringSetupFlags, io_uring_buf_reg, io_uring_cqe,
    io_uring_enter, io_uring_enter_arg, io_uring_getevents_arg, io_uring_params, io_uring_ptr,
    io_uring_register, io_uring_setup, io_uring_sqe,
};
use rustix::mm::{self, MapFlags, ProtFlags};

/// One shared mapping (unmapped on drop).
struct Map {
    ptr: NonNull<c_void>,
    len: usize,
}

impl Map {
    /// Maps `len` bytes of the ring `fd` at `offset` (one of the `IORING_OFF_*`).
    fn ring(fd: &OwnedFd, len: usize, offset: u64) -> Result<Map> {
        // SAFETY: a fresh shared mapping chosen by the kernel (null hint), of the ring's region
        // at the documented offset and the size `io_uring_setup` reported; nothing else aliases
        // it on our side until `Map` hands out pointers into it.
        let p = unsafe {
            mm::mmap(
                ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED | MapFlags::POPULATE,
                fd,
                offset,
            )?
        };
        Ok(Map {
            ptr: NonNull::new(p).ok_or(Errno::NOMEM)?,
            len,
        })
    }

    /// An anonymous, zeroed, page-aligned mapping of `len` bytes.
    fn anonymous(len: usize) -> Result<Map> {
        // SAFETY: a fresh private anonymous mapping chosen by the kernel (null hint).
        let p = unsafe {
            mm::mmap_anonymous(
                ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::POPULATE,
            )?
        };
        Ok(Map {
            ptr: NonNull::new(p).ok_or(Errno::NOMEM)?,
            len,
        })
    }

    /// The address `off` bytes into the mapping, as a `T` pointer.
    fn at<T>(&self, off: u32) -> *mut T {
        debug_assert!(off as usize + size_of::<T>() <= self.len);
        // SAFETY: `off` is an offset the kernel reported into this mapping (checked above in
        // debug builds), so the result stays inside the same allocation.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(off as usize).cast() }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `Map::ring`/`Map::anonymous` with this length, and no
        // pointer into it outlives its owner (`Ring`/`BufRing` drop their maps last).
        let _ = unsafe { mm::munmap(self.ptr.as_ptr(), self.len) };
    }
}

/// How the ring runs its completions' task work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskRun {
    /// `SINGLE_ISSUER | DEFER_TASKRUN`: completions' work runs only inside our
    /// `io_uring_enter(GETEVENTS)`.
    Defer,
    /// `SINGLE_ISSUER | COOP_TASKRUN`: it runs at our next kernel entry, no forced interrupt.
    Coop,
}

/// An io_uring: submission and completion queues, mapped.
pub(crate) struct Ring {
    /// The ring. The pointers below point into the `_*_map` mappings, which outlive every use
    /// (they are dropped with the ring; closing the fd first does not unmap them).
    fd: OwnedFd,
    sq_head: *const AtomicU32,
    sq_tail: *const AtomicU32,
    sq_mask: u32,
    sq_entries: u32,
    sqes: *mut io_uring_sqe,
    cq_head: *const AtomicU32,
    cq_tail: *const AtomicU32,
    cq_mask: u32,
    cqes: *const io_uring_cqe,
    /// Our copy of the SQ tail (entries written, not yet published to the kernel).
    tail: u32,
    /// SQEs published since the last `enter`.
    unsubmitted: u32,
    _sq_map: Map,
    _cq_map: Option<Map>,
    _sqe_map: Map,
}

impl Ring {
    /// Sets up a ring of `entries` SQEs and `cq_entries` CQEs.
    pub(crate) fn new(entries: u32, cq_entries: u32, run: TaskRun) -> Result<Ring> {
        let mut p = io_uring_params::default();
        p.flags = IoringSetupFlags::SINGLE_ISSUER | IoringSetupFlags::CQSIZE;
        p.flags |= match run {
            TaskRun::Defer => IoringSetupFlags::DEFER_TASKRUN,
            TaskRun::Coop => IoringSetupFlags::COOP_TASKRUN,
        };
        p.cq_entries = cq_entries;
        // SAFETY: `p` is a valid, zero-initialised `io_uring_params` the kernel fills in.
        let fd = unsafe { io_uring_setup(entries, &mut p)? };
        let sq_len = p.sq_off.array as usize + p.sq_entries as usize * size_of::<u32>();
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * size_of::<io_uring_cqe>();
        let single = p.features.contains(IoringFeatureFlags::SINGLE_MMAP);
        let sq_map = Map::ring(
            &fd,
            if single { sq_len.max(cq_len) } else { sq_len },
            IORING_OFF_SQ_RING,
        )?;
        let cq_map = if single {
            None
        } else {
            Some(Map::ring(&fd, cq_len, IORING_OFF_CQ_RING)?)
        };
        let sqe_map = Map::ring(
            &fd,
            p.sq_entries as usize * size_of::<io_uring_sqe>(),
            IORING_OFF_SQES,
        )?;
        let cq = cq_map.as_ref().unwrap_or(&sq_map);
        // SAFETY: the offsets are the kernel's, into the mappings just made; the masks and entry
        // counts are read once (the kernel never changes them).
        let (sq_mask, sq_entries, cq_mask) = unsafe {
            (
                *sq_map.at::<u32>(p.sq_off.ring_mask),
                *sq_map.at::<u32>(p.sq_off.ring_entries),
                *cq.at::<u32>(p.cq_off.ring_mask),
            )
        };
        // The SQ index array maps slot i to SQE i, once for all.
        let array = sq_map.at::<u32>(p.sq_off.array);
        for i in 0..sq_entries {
            // SAFETY: `array` has `sq_entries` slots (the mapping's length covers them).
            unsafe { array.add(i as usize).write(i) };
        }
        Ok(Ring {
            sq_head: sq_map.at(p.sq_off.head),
            sq_tail: sq_map.at(p.sq_off.tail),
            sq_mask,
            sq_entries,
            sqes: sqe_map.at(0),
            cq_head: cq.at(p.cq_off.head),
            cq_tail: cq.at(p.cq_off.tail),
            cq_mask,
            cqes: cq.at(p.cq_off.cqes),
            tail: 0,
            unsubmitted: 0,
            fd,
            _sq_map: sq_map,
            _cq_map: cq_map,
            _sqe_map: sqe_map,
        })
    }

    /// Queues `sqe`; submits what is queued first if the SQ is full.
    pub(crate) fn push(&mut self, sqe: io_uring_sqe) -> Result<()> {
        loop {
            // SAFETY: `sq_head` points at the kernel's SQ head in the live mapping; acquire pairs
            // with the kernel's release after it consumed the SQEs before it.
            let head = unsafe { (*self.sq_head).load(Ordering::Acquire) };
            if self.tail.wrapping_sub(head) < self.sq_entries {
                break;
            }
            self.enter(0, None)?;
        }
        let slot = (self.tail & self.sq_mask) as usize;
        // SAFETY: slot < sq_entries; the kernel has consumed it (checked against its head
        // above) and will not read it again before we publish the tail below.
        unsafe { self.sqes.add(slot).write(sqe) };
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the SQ tail in the live mapping; release publishes the SQE written above.
        unsafe { (*self.sq_tail).store(self.tail, Ordering::Release) };
        self.unsubmitted += 1;
        Ok(())
    }

    /// `io_uring_enter(to_submit, min_complete, GETEVENTS)` submitting every queued SQE; with
    /// `min_wait = Some(usec)`, `IORING_ENTER_EXT_ARG` with that `min_wait_usec` and a 1 s
    /// timeout (`ETIME` is returned as `Ok`).
    pub(crate) fn enter(&mut self, min_complete: u32, min_wait: Option<u32>) -> Result<()> {
        let n = self.unsubmitted;
        let res = match min_wait {
            None => {
                // SAFETY: every published SQE is fully initialised and points at memory that
                // stays valid until its completion (the callers' contract, see `push`'s users).
                unsafe { io_uring_enter(&self.fd, n, min_complete, IoringEnterFlags::GETEVENTS) }
            }
            Some(usec) => {
                let ts = rustix::time::Timespec {
                    tv_sec: 1,
                    tv_nsec: 0,
                };
                let arg = io_uring_getevents_arg {
                    min_wait_usec: usec,
                    ts: io_uring_ptr::new(ptr::from_ref(&ts).cast_mut().cast()),
                    ..Default::default()
                };
                // SAFETY: as above; `arg` and `ts` live across the call.
                unsafe {
                    io_uring_enter_arg(
                        &self.fd,
                        n,
                        min_complete,
                        IoringEnterFlags::GETEVENTS | IoringEnterFlags::EXT_ARG,
                        Some(&arg),
                    )
                }
            }
        };
        match res {
            Ok(k) => {
                self.unsubmitted -= k.min(n);
                Ok(())
            }
            Err(Errno::TIME | Errno::INTR) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Calls `f` with every completion the kernel has posted, then releases them.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(u64, i32, IoringCqeFlags)) {
        // SAFETY: the CQ head is ours (the kernel only reads it); the CQ tail is the kernel's,
        // acquire pairs with its release after writing the CQEs before it.
        let (mut head, tail) = unsafe {
            (
                (*self.cq_head).load(Ordering::Relaxed),
                (*self.cq_tail).load(Ordering::Acquire),
            )
        };
        while head != tail {
            // SAFETY: slot <= cq_mask, inside the CQE array; the kernel wrote it before
            // publishing `tail` and will not overwrite it before we release `head` below.
            let (data, res, flags) = unsafe {
                let c = &*self.cqes.add((head & self.cq_mask) as usize);
                (c.user_data.u64_(), c.res, c.flags)
            };
            f(data, res, flags);
            head = head.wrapping_add(1);
        }
        // SAFETY: the CQ head in the live mapping; release tells the kernel the slots are free
        // after our reads above.
        unsafe { (*self.cq_head).store(head, Ordering::Release) };
    }

    /// The ring's fd (for `io_uring_register`).
    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// One entry of a provided-buffer ring (`struct io_uring_buf`): 16 bytes, the ring's tail
/// overlaying entry 0's `resv`.
#[repr(C)]
struct BufEntry {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

/// A provided-buffer ring (buffer group `bgid`) of `count` buffers of `size` bytes each.
pub(crate) struct BufRing {
    entries: Map,
    bufs: Map,
    count: u16,
    size: u32,
    /// Our tail (buffers handed to the kernel), published by `publish`.
    tail: u16,
}

impl BufRing {
    /// Registers the ring with `ring` as group `bgid` and provides every buffer.
    pub(crate) fn new(ring: &Ring, bgid: u16, count: u16, size: u32) -> Result<BufRing> {
        assert!(count.is_power_of_two());
        let entries = Map::anonymous(count as usize * size_of::<BufEntry>())?;
        let bufs = Map::anonymous(count as usize * size as usize)?;
        let mut reg = io_uring_buf_reg::default();
        reg.ring_addr = io_uring_ptr::new(entries.ptr.as_ptr());
        reg.ring_entries = u32::from(count);
        reg.bgid = bgid;
        // SAFETY: `reg` describes a page-aligned mapping of `count` entries that lives as long
        // as the `BufRing` (which the server drops together with the ring).
        unsafe {
            io_uring_register(
                ring.fd(),
                IoringRegisterOp::RegisterPbufRing,
                ptr::from_ref(&reg).cast(),
                1,
            )?;
        }
        let mut b = BufRing {
            entries,
            bufs,
            count,
            size,
            tail: 0,
        };
        for bid in 0..count {
            b.recycle(bid);
        }
        b.publish();
        Ok(b)
    }

    /// Buffer `bid`'s first `len` bytes.
    pub(crate) fn get(&self, bid: u16, len: usize) -> *const u8 {
        debug_assert!(bid < self.count && len <= self.size as usize);
        self.bufs
            .at::<u8>(0)
            .wrapping_add(bid as usize * self.size as usize)
            .cast_const()
    }

    /// Hands buffer `bid` back to the kernel (visible after `publish`).
    pub(crate) fn recycle(&mut self, bid: u16) {
        let e = self
            .entries
            .at::<BufEntry>(0)
            .wrapping_add((self.tail & (self.count - 1)) as usize);
        let addr = self.get(bid, 0) as u64;
        // SAFETY: `e` is inside the entry array; the slot is free (the kernel consumed it: at
        // most `count` buffers exist, so at most `count` are outstanding). `resv` is not
        // written: in entry 0 it is the ring's tail.
        unsafe {
            ptr::addr_of_mut!((*e).addr).write(addr);
            ptr::addr_of_mut!((*e).len).write(self.size);
            ptr::addr_of_mut!((*e).bid).write(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    /// Publishes the recycled buffers to the kernel.
    pub(crate) fn publish(&mut self) {
        let e0 = self.entries.at::<BufEntry>(0);
        // SAFETY: the tail is the `u16` at offset 14 of the ring (entry 0's `resv`), 2-aligned;
        // the kernel reads it with acquire, our release publishes the entries written before.
        unsafe {
            let t = ptr::addr_of_mut!((*e0).resv).cast::<AtomicU16>();
            (*t).store(self.tail, Ordering::Release);
        }
    }
}
