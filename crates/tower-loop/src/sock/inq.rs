//! Linux's `TCP_INQ`: a TCP read that also says how many bytes it left in the socket's receive
//! queue. A `sock_recv_into` that took everything (even if it filled the buffer) then uses the
//! readiness up, and the next read waits for the next edge instead of making a `recv` that
//! returns `EAGAIN` (docs/decisions/0009-reactor-epoll.md).
//!
//! The reactor turns the option on once per registered TCP socket ([`enable`], one
//! `setsockopt`), the first time a `sock_recv`/`sock_recv_into` waits on it; elsewhere, and on
//! sockets that refuse it, reads are plain `recv`s. On a loop that makes many reads that fill
//! their buffers per poll interval, the reads on these sockets are plain `recv`s too, and the
//! reactor's batched probe (one `poll(2)` per poll) answers for all of them: a `recvmsg` with
//! a control message costs ~110 ns more than a `recv` (docs/decisions/0009). The option changes nothing for the caller's
//! own `read`/`recv` calls; a caller's own `recvmsg` with a control buffer receives a
//! `TCP_CM_INQ` message too.

#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::AsRawFd;
use std::os::fd::BorrowedFd;

#[cfg(any(target_os = "linux", target_os = "android"))]
use rustix::io::Errno;

/// Turns `TCP_INQ` on for `fd`; `false` if the socket refuses it (not TCP, or a kernel older
/// than 4.18).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn enable(fd: BorrowedFd<'_>) -> bool {
    let one: libc::c_int = 1;
    // SAFETY: `setsockopt` reads `size_of::<c_int>()` bytes from `one`, a live local; the fd
    // number is only handed to the kernel, which fails on a closed one.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_TCP,
            libc::TCP_INQ,
            std::ptr::from_ref(&one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

/// No `TCP_INQ` here.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn enable(_fd: BorrowedFd<'_>) -> bool {
    false
}

/// One non-blocking `recvmsg` into `buf`: the byte count, and the bytes left in the receive
/// queue if the kernel said (`TCP_INQ` on; 1 at end of stream, so that it stays readable).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> rustix::io::Result<(usize, Option<u32>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for one `cmsghdr` and its `c_int` (`CMSG_SPACE(4)` is 24 bytes on 64-bit targets,
    // 16 on 32-bit), aligned as a `cmsghdr` needs. After the raw pointer is taken, the buffer is
    // reached only through it (the kernel writes through it; a new reference to `control`
    // would let the compiler assume it still holds zeros).
    let mut control = [0u64; 4];
    let control_len = std::mem::size_of_val(&control);
    let control_ptr: *mut u64 = control.as_mut_ptr();
    // SAFETY: `msghdr` is plain data; all-zero is a valid (empty) value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control_ptr.cast();
    msg.msg_controllen = control_len as _;
    // SAFETY: `msg` points at `iov` (which covers exactly `buf`) and at `control`, all live
    // and exclusively borrowed for the call; the kernel writes at most their lengths.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO));
    }
    let mut inq = None;
    // SAFETY: `msg` was filled by `recvmsg`: `msg_control`/`msg_controllen` describe the control
    // messages it wrote into `control`, which `CMSG_FIRSTHDR`/`CMSG_NXTHDR` walk within bounds.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: a non-null `cmsg` from `CMSG_FIRSTHDR`/`CMSG_NXTHDR` points at a complete
        // header inside `control`.
        let hdr = unsafe { &*cmsg };
        if hdr.cmsg_level == libc::SOL_TCP && hdr.cmsg_type == libc::TCP_CM_INQ {
            // SAFETY: a `TCP_CM_INQ` message carries one `c_int` after its header, inside
            // `control` (the kernel sets `MSG_CTRUNC` rather than write past it); unaligned
            // read, as `CMSG_DATA` promises no alignment for the payload type.
            let v: libc::c_int = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
            inq = u32::try_from(v).ok();
            // The only message the loop asks for, and the first one: no need to walk on.
            break;
        }
        // SAFETY: as for `CMSG_FIRSTHDR`: `msg` and `cmsg` are the ones just walked.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok((n as usize, inq))
}

/// A plain `recv` where there is no `TCP_INQ`.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> rustix::io::Result<(usize, Option<u32>)> {
    rustix::net::recv(fd, buf, rustix::net::RecvFlags::DONTWAIT).map(|(n, _)| (n, None))
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    // A read that takes everything says so (0 left), even when it fills the buffer; one that
    // leaves bytes says how many.
    #[test]
    fn a_read_reports_what_it_left() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        assert!(super::enable(s.as_fd()));
        c.write_all(&[1u8; 48]).unwrap();
        let mut buf = [0u8; 16];
        let mut got = 0;
        let mut lefts = Vec::new();
        while got < 48 {
            match super::recv(s.as_fd(), &mut buf) {
                Ok((n, left)) => {
                    got += n;
                    lefts.push((n, left));
                }
                Err(rustix::io::Errno::AGAIN) => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(lefts.last(), Some(&(16, Some(0))), "{lefts:?}");
        assert!(lefts.iter().all(|(_, left)| left.is_some()), "{lefts:?}");
    }
}
