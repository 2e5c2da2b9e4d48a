//! Kernel receive stamps for the plain-http client: when a read's bytes reached the socket, free of
//! the client's own scheduling delay.
//!
//! A busy client (thousands of streams sharing its cores with the server) may read a chunk
//! milliseconds after it arrived; stamping it with `Instant::now()` after the read puts that delay
//! into TTFT and ITL. Linux stamps every received packet in software (`SO_TIMESTAMPING` with
//! `SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE`) and `recvmsg` hands back, in an
//! `SCM_TIMESTAMPING` control message, the stamp of the last packet the read consumed. That is the
//! arrival time used for metrics; the user-space stamp is kept beside it, and their gap is the
//! client's own lag (run info `client.receive_stamps`).
//!
//! **Clock conversion.** The kernel stamp is `CLOCK_REALTIME`; records are built from the monotonic
//! clock (`Instant`, anchored once in [`crate::io::clock`]). Right after `recvmsg` returns, the reader
//! takes `Instant::now()` and `CLOCK_REALTIME` back to back (vDSO, tens of ns apart); the gap
//! `realtime_now − kernel_stamp` is a difference of two realtime readings a few ms apart, and the
//! arrival instant is `Instant::now() − gap`. So no realtime→monotonic offset is ever assumed: an NTP
//! step between the run's start and the read changes nothing, and slewing (≤ 500 ppm) moves a 10 ms
//! gap by at most 5 µs. A gap that is negative or over [`MAX_GAP`] (the realtime clock stepped during
//! the read) is not trusted: that read falls back to its user-space stamp.
//!
//! **Several chunks in one read.** A read that drains several TCP segments carries one stamp, the
//! last segment's, and every SSE event completed by that read gets it (AIPerf's rule: a chunk is
//! stamped when the bytes that complete it are handed over). How often that happens is counted
//! ([`RxHealth`]: reads that delivered more than one content chunk). Reads sized to end at a
//! segment boundary would not recover the earlier segments' stamps: Linux merges in-order segments
//! that queue up behind an unread one into one buffer (`tcp_try_coalesce`), which keeps only the
//! newest segment's stamp, so every chunk queued while the client was late carries that stamp.
//!
//! **Turning it on takes a moment.** The first socket asking for receive stamps switches
//! timestamping on for the whole host, and Linux does that from a work queue: packets that arrive
//! before it ran carry no stamp. [`keep_on`] opens one stamped socket for the life of the process
//! when the client is built, before the first request.
//!
//! Where the kernel gives no stamp (another OS, an architecture whose socket constants differ, a
//! socket option refused), reads are stamped in user space and counted as such.

use std::io;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::contract::run_info::{DispatchLag, ReceiveStamps};

/// A realtime gap beyond this is a clock step, not a lag: the read is stamped in user space.
pub const MAX_GAP: Duration = Duration::from_secs(10);

/// When one read's bytes arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxStamp {
    /// Arrival time used for metrics: the kernel's stamp on the monotonic clock, else `user`.
    pub at: Instant,
    /// When the client had the bytes (just after the read returned).
    pub user: Instant,
    /// `at` came from the kernel.
    pub kernel: bool,
    /// Bytes that were waiting in the socket when the read began, when the read filled the buffer
    /// (0 otherwise: the read took everything there was, a normal read).
    pub backlog: u32,
    /// That backlog was at least half the socket's receive buffer: the receive window the client
    /// advertised was closed or nearly (Linux closes it at 50-80 % of SO_RCVBUF, by version): the
    /// server's next bytes waited on its side, so their arrival stamps include the client's delay.
    pub window_full: bool,
}

impl RxStamp {
    /// A user-space stamp taken now (https, reqwest, or no kernel stamp).
    pub fn now() -> RxStamp {
        let t = Instant::now();
        RxStamp {
            at: t,
            user: t,
            kernel: false,
            backlog: 0,
            window_full: false,
        }
    }
}

/// Turns on software receive stamps for `stream`; false when the kernel refuses (reads then carry
/// user-space stamps).
pub fn enable(stream: &TcpStream) -> bool {
    sys::enable(stream)
}

/// Switches the host's software receive stamps on for the life of the process (one idle UDP
/// socket with `SO_TIMESTAMPING`), so the first requests do not race the kernel's work queue.
pub fn keep_on() {
    static KEEPER: std::sync::OnceLock<Option<std::net::UdpSocket>> = std::sync::OnceLock::new();
    KEEPER.get_or_init(|| {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").ok()?;
        sys::enable_fd(&s).then_some(s)
    });
}

/// Reads into `buf` like `AsyncReadExt::read`, returning the bytes read and their stamp.
pub async fn read(stream: &TcpStream, buf: &mut [u8], kernel: bool) -> io::Result<(usize, RxStamp)> {
    loop {
        stream.readable().await?;
        match stream.try_io(Interest::READABLE, || sys::recv(stream, buf, kernel)) {
            Ok((n, stamp_ns, backlog)) => {
                let mut s = convert(stamp_ns);
                (s.backlog, s.window_full) = (backlog.bytes, backlog.window_full);
                return Ok((n, s));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads the two clocks now and places a kernel realtime stamp (epoch ns) on the monotonic clock.
fn convert(stamp_ns: Option<i128>) -> RxStamp {
    let user = Instant::now();
    match stamp_ns {
        Some(k) => place(user, sys::realtime_ns(), k),
        None => RxStamp {
            at: user,
            user,
            kernel: false,
            backlog: 0,
            window_full: false,
        },
    }
}

/// What was waiting in the socket when a read that filled its buffer began.
#[derive(Debug, Clone, Copy, Default)]
pub struct Backlog {
    pub bytes: u32,
    pub window_full: bool,
}

/// `user` and `real_now_ns` were read together; `kernel_ns` is the packet's realtime stamp.
fn place(user: Instant, real_now_ns: i128, kernel_ns: i128) -> RxStamp {
    let gap = real_now_ns - kernel_ns;
    if gap < 0 || gap > MAX_GAP.as_nanos() as i128 {
        return RxStamp {
            at: user,
            user,
            kernel: false,
            backlog: 0,
            window_full: false,
        };
    }
    match user.checked_sub(Duration::from_nanos(gap as u64)) {
        Some(at) => RxStamp {
            at,
            user,
            kernel: true,
            backlog: 0,
            window_full: false,
        },
        None => RxStamp {
            at: user,
            user,
            kernel: false,
            backlog: 0,
            window_full: false,
        },
    }
}

/// The user-space stamps of one request's content chunks, beside `Exchange::content` (which holds
/// the stamps used for metrics). Empty on the reqwest path, whose stamps are all user-space.
#[derive(Debug, Default)]
pub struct RxLog {
    pub user: Vec<Instant>,
    /// Content chunks whose `content` stamp came from the kernel.
    pub kernel_chunks: u32,
    /// Reads that found the receive window closed (or nearly), and the largest backlog seen, bytes.
    pub window_full_reads: u32,
    pub max_backlog: u32,
}

impl RxLog {
    /// `added` content chunks were just completed by the read stamped `s`.
    pub fn note(&mut self, s: RxStamp, added: usize) {
        for _ in 0..added {
            self.user.push(s.user);
        }
        if s.kernel {
            self.kernel_chunks += added as u32;
        }
        self.window_full_reads += u32::from(s.window_full);
        self.max_backlog = self.max_backlog.max(s.backlog);
    }
}

/// Across a run (kept by the writer): the client's own lag per kernel-stamped chunk and how many
/// reads delivered several chunks under one stamp.
pub struct RxHealth {
    lag: Histogram<u64>,
    kernel_chunks: u64,
    user_chunks: u64,
    shared_reads: u64,
    chunks_in_shared_reads: u64,
    window_full_reads: u64,
    window_full_requests: u64,
    max_backlog: u64,
}

impl Default for RxHealth {
    fn default() -> Self {
        RxHealth {
            lag: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds"),
            kernel_chunks: 0,
            user_chunks: 0,
            shared_reads: 0,
            chunks_in_shared_reads: 0,
            window_full_reads: 0,
            window_full_requests: 0,
            max_backlog: 0,
        }
    }
}

impl RxHealth {
    /// One request's content stamps (`at`, used for metrics) and its user-space log.
    pub fn observe(&mut self, at: &[Instant], log: &RxLog) {
        self.window_full_reads += u64::from(log.window_full_reads);
        self.window_full_requests += u64::from(log.window_full_reads > 0);
        self.max_backlog = self.max_backlog.max(u64::from(log.max_backlog));
        let kernel = (log.kernel_chunks as u64).min(at.len() as u64);
        self.kernel_chunks += kernel;
        self.user_chunks += at.len() as u64 - kernel;
        if kernel > 0 {
            for (a, u) in at.iter().zip(&log.user) {
                let ns = (u.saturating_duration_since(*a).as_nanos() as u64).clamp(1, 3_600_000_000_000);
                let _ = self.lag.record(ns);
            }
        }
        // Equal stamps in a row: chunks completed by the same read.
        let mut run = 1u64;
        for i in 1..=at.len() {
            if i < at.len() && at[i] == at[i - 1] {
                run += 1;
                continue;
            }
            if run > 1 {
                self.shared_reads += 1;
                self.chunks_in_shared_reads += run;
            }
            run = 1;
        }
    }

    /// The verdict when late reads closed the client's receive window (None when they never did).
    pub fn window_warning(&self) -> Option<String> {
        (self.window_full_reads > 0).then(|| {
            format!(
                "the client read so late that its TCP receive window was closed (or nearly) at {} reads, in {} request(s), with up to {} KiB waiting: the server's next chunks then waited on its side of the connection, so their arrival times (kernel stamps too) include the client's delay",
                self.window_full_reads,
                self.window_full_requests,
                self.max_backlog / 1024
            )
        })
    }

    /// Client lag p99 (zero when no chunk carried a kernel stamp).
    pub fn lag_p99(&self) -> Duration {
        Duration::from_nanos(if self.lag.is_empty() {
            0
        } else {
            self.lag.value_at_quantile(0.99)
        })
    }

    /// The run info block (None when no content chunk arrived).
    pub fn summary(&self) -> Option<ReceiveStamps> {
        if self.kernel_chunks + self.user_chunks == 0 {
            return None;
        }
        let ms = |q: f64| {
            if self.lag.is_empty() {
                0.0
            } else {
                self.lag.value_at_quantile(q) as f64 / 1e6
            }
        };
        Some(ReceiveStamps {
            source: match (self.kernel_chunks, self.user_chunks) {
                (_, 0) => "kernel",
                (0, _) => "user",
                _ => "mixed",
            }
            .into(),
            kernel_stamped_chunks: self.kernel_chunks,
            user_stamped_chunks: self.user_chunks,
            client_lag_ms: DispatchLag {
                p50: ms(0.5),
                p99: ms(0.99),
                max: if self.lag.is_empty() {
                    0.0
                } else {
                    self.lag.max() as f64 / 1e6
                },
            },
            shared_reads: self.shared_reads,
            chunks_in_shared_reads: self.chunks_in_shared_reads,
            window_full_reads: self.window_full_reads,
            window_full_requests: self.window_full_requests,
            max_backlog_bytes: self.max_backlog,
        })
    }
}

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
mod sys {
    use std::io;
    use std::os::fd::AsRawFd;

    use tokio::net::TcpStream;

    /// `SO_TIMESTAMPING` (= `SO_TIMESTAMPING_OLD`, whose `timespec` is 64-bit on these
    /// architectures); the control message has the same number. libc does not export it for
    /// every Linux target.
    const SO_TIMESTAMPING: libc::c_int = 37;
    const SCM_TIMESTAMPING: libc::c_int = SO_TIMESTAMPING;

    pub fn enable(stream: &TcpStream) -> bool {
        enable_fd(stream)
    }

    pub fn enable_fd(sock: &impl AsRawFd) -> bool {
        let flags: libc::c_uint = libc::SOF_TIMESTAMPING_RX_SOFTWARE | libc::SOF_TIMESTAMPING_SOFTWARE;
        // SAFETY: a valid socket and a c_uint option value of the size passed.
        let r = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_TIMESTAMPING,
                (&flags as *const libc::c_uint).cast(),
                std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
            )
        };
        r == 0
    }

    /// One non-blocking `recvmsg`: bytes read, the software receive stamp (epoch ns) if any, and
    /// when the read filled `buf`, what was waiting ([`backlog`]).
    pub fn recv(
        stream: &TcpStream,
        buf: &mut [u8],
        want: bool,
    ) -> io::Result<(usize, Option<i128>, super::Backlog)> {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // Room for one scm_timestamping (3 timespecs) and its header, 8-byte aligned.
        let mut control = [0u64; 16];
        // SAFETY: msghdr is plain data; every pointer below outlives the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if want {
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = std::mem::size_of_val(&control) as _;
        }
        // SAFETY: a valid socket and a msghdr whose buffers are ours for the call.
        let n = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut stamp = None;
        if want {
            // SAFETY: the CMSG_* walk stays within msg_controllen, filled by the kernel.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(&msg);
                while !c.is_null() {
                    if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == SCM_TIMESTAMPING {
                        let ts = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const [libc::timespec; 3]);
                        // ts[0] is the software stamp; zero means none.
                        if ts[0].tv_sec != 0 || ts[0].tv_nsec != 0 {
                            stamp = Some(ts[0].tv_sec as i128 * 1_000_000_000 + ts[0].tv_nsec as i128);
                        }
                    }
                    c = libc::CMSG_NXTHDR(&msg, c);
                }
            }
        }
        let n = n as usize;
        let waiting = if n == buf.len() && n > 0 {
            backlog(stream.as_raw_fd(), n)
        } else {
            super::Backlog::default()
        };
        Ok((n, stamp, waiting))
    }

    /// After a read of `n` bytes that filled its buffer: the bytes still queued (SIOCINQ) plus `n`,
    /// against SO_RCVBUF. Only full reads pay these two syscalls: a client that keeps up never does.
    fn backlog(fd: libc::c_int, n: usize) -> super::Backlog {
        let mut rest: libc::c_int = 0;
        let mut rcvbuf: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: FIONREAD writes one c_int; getsockopt writes at most `len` bytes into rcvbuf.
        let ok = unsafe {
            libc::ioctl(fd, libc::FIONREAD, &mut rest) == 0
                && libc::getsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_RCVBUF,
                    (&mut rcvbuf as *mut libc::c_int).cast(),
                    &mut len,
                ) == 0
        };
        if !ok {
            return super::Backlog::default();
        }
        let bytes = (n as u64 + rest.max(0) as u64).min(u32::MAX as u64);
        super::Backlog {
            bytes: bytes as u32,
            window_full: rcvbuf > 0 && bytes * 2 >= rcvbuf as u64,
        }
    }

    /// CLOCK_REALTIME now, epoch ns.
    pub fn realtime_ns() -> i128 {
        // SAFETY: clock_gettime fills the timespec we pass.
        let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
)))]
mod sys {
    use std::io;

    use tokio::net::TcpStream;

    pub fn enable(_: &TcpStream) -> bool {
        false
    }

    pub fn enable_fd<T>(_: &T) -> bool {
        false
    }

    pub fn recv(
        stream: &TcpStream,
        buf: &mut [u8],
        _: bool,
    ) -> io::Result<(usize, Option<i128>, super::Backlog)> {
        stream.try_read(buf).map(|n| (n, None, super::Backlog::default()))
    }

    pub fn realtime_ns() -> i128 {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kernel_stamp_lands_gap_before_the_user_stamp() {
        let user = Instant::now();
        let s = place(user, 1_000_000_000_000, 1_000_000_000_000 - 2_500_000);
        assert!(s.kernel);
        assert_eq!(s.user - s.at, Duration::from_micros(2500));
        // A stamp from the future or far in the past is a clock step: the user stamp stands.
        for k in [1_000_000_000_001, 1_000_000_000_000 - 11_000_000_000] {
            let s = place(user, 1_000_000_000_000, k);
            assert_eq!((s.kernel, s.at), (false, user));
        }
    }

    #[test]
    fn health_counts_lag_sources_and_shared_reads() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // Five chunks: two reads of one chunk, one read of three (same stamp).
        let at = [ms(1), ms(2), ms(3), ms(3), ms(3)];
        let log = RxLog {
            user: vec![ms(2), ms(2), ms(7), ms(7), ms(7)],
            kernel_chunks: 5,
            ..RxLog::default()
        };
        let mut h = RxHealth::default();
        h.observe(&at, &log);
        h.observe(&[ms(9)], &RxLog::default());
        let s = h.summary().unwrap();
        assert_eq!((s.kernel_stamped_chunks, s.user_stamped_chunks), (5, 1));
        assert_eq!(s.source, "mixed");
        assert_eq!((s.shared_reads, s.chunks_in_shared_reads), (1, 3));
        assert!((s.client_lag_ms.max - 4.0).abs() < 0.01, "{s:?}");
        assert!((s.client_lag_ms.p50 - 4.0).abs() < 0.01, "{s:?}");
        assert!(RxHealth::default().summary().is_none());
    }

    /// A read that finds the socket's receive buffer filled (the peer wrote while nobody read) says
    /// so; a read that keeps up does not.
    #[test]
    fn a_read_behind_a_full_receive_window_says_so() {
        use std::io::Write;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let client = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            let (mut server, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 16 * 1024];
            server.write_all(b"small").unwrap();
            let (n, s) = read(&client, &mut buf, false).await.unwrap();
            assert_eq!((n, s.backlog, s.window_full), (5, 0, false));
            // Write until the client's window is shut (the writes would block), unread.
            server.set_nonblocking(true).unwrap();
            let chunk = [b'x'; 4096];
            let mut written = 0usize;
            let mut blocked = 0;
            while blocked < 3 {
                match server.write(&chunk) {
                    Ok(k) => written += k,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        blocked += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            let (n, s) = read(&client, &mut buf, false).await.unwrap();
            assert_eq!(n, buf.len());
            assert!(s.window_full, "{s:?} after {written} bytes written unread");
            assert!(
                s.backlog as usize > 2 * n && s.backlog as usize <= written,
                "{s:?}"
            );
            let mut log = RxLog::default();
            log.note(s, 1);
            let mut h = RxHealth::default();
            h.observe(&[s.at], &log);
            let sum = h.summary().unwrap();
            assert_eq!((sum.window_full_reads, sum.window_full_requests), (1, 1));
            assert_eq!(sum.max_backlog_bytes, s.backlog as u64);
            assert!(h.window_warning().unwrap().contains("receive window was closed"));
            assert!(RxHealth::default().window_warning().is_none());
        });
    }

    /// The kernel really stamps loopback TCP reads here, and the stamp is when the bytes arrived,
    /// not when they were read: bytes read 30 ms after they were sent carry a stamp ~30 ms old.
    #[test]
    fn loopback_reads_carry_the_arrival_time() {
        use tokio::io::AsyncWriteExt;
        keep_on();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = l.accept().await.unwrap();
            let on = enable(&client);
            let mut buf = [0u8; 64];
            // The host-wide switch is flipped by a kernel work queue: wait (bounded) until a
            // packet comes back stamped.
            let mut stamped = false;
            for _ in 0..200 {
                server.write_all(b"x").await.unwrap();
                let (_, s) = read(&client, &mut buf, on).await.unwrap();
                if s.kernel {
                    stamped = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            server.write_all(b"hello").await.unwrap();
            let sent = Instant::now();
            std::thread::sleep(Duration::from_millis(30));
            let (n, s) = read(&client, &mut buf, on).await.unwrap();
            assert_eq!(&buf[..n], b"hello");
            if cfg!(target_os = "linux") {
                assert!(on && stamped && s.kernel, "no kernel stamp: {s:?}");
                assert!(s.user - s.at >= Duration::from_millis(25), "{s:?}");
                // Generous: the stamp is near the send, well before the read.
                assert!(s.at <= sent + Duration::from_millis(10), "{s:?}");
            }
        });
    }
}
