//! `kairos::net` on the real runtime: echo over TCP, UDP and Unix sockets, faults (refused,
//! reset, half-close), read timeouts, the runtime's drop, and the simulator's refusal.
//!
//! No timing thresholds: every wait is on an event (a message, a channel); a generous
//! `recv_timeout` only turns a would-be hang into a failure.

use kairos::net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use kairos::Runtime;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// A bound that only a hang reaches.
const HANG: Duration = Duration::from_secs(60);

fn runtime(workers: usize) -> Runtime {
    Runtime::builder().workers(workers).build().unwrap()
}

/// Reads exactly `buf.len()` bytes.
async fn read_exact(stream: &TcpStream, buf: &mut [u8]) {
    let mut got = 0;
    while got < buf.len() {
        let n = stream.read(&mut buf[got..]).await.unwrap();
        assert!(n > 0, "unexpected end-of-stream after {got} bytes");
        got += n;
    }
}

#[test]
fn tcp_echo_many_connections_and_messages() {
    let rt = runtime(2);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        const CLIENTS: usize = 8;
        const ROUNDS: usize = 50;
        let server = kairos::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..CLIENTS {
                let (stream, peer) = listener.accept().await.unwrap();
                assert_eq!(stream.peer_addr().unwrap(), peer);
                conns.push(kairos::spawn(async move {
                    stream.set_nodelay(true).unwrap();
                    assert!(stream.nodelay().unwrap());
                    let (read, write) = stream.into_split();
                    let mut buf = [0; 64];
                    loop {
                        let n = read.read(&mut buf).await.unwrap();
                        if n == 0 {
                            return;
                        }
                        write.write_all(&buf[..n]).await.unwrap();
                    }
                }));
            }
            for c in conns {
                c.await.unwrap();
            }
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                kairos::spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    for r in 0..ROUNDS {
                        let msg = [(c * ROUNDS + r) as u8; 64];
                        stream.write_all(&msg).await.unwrap();
                        let mut back = [0; 64];
                        read_exact(&stream, &mut back).await;
                        assert_eq!(back, msg);
                    }
                    stream.shutdown(Shutdown::Write).unwrap();
                    let mut buf = [0; 1];
                    assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
}

#[test]
fn tcp_streams_implement_futures_io() {
    use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    let rt = runtime(1);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = kairos::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            stream.read_to_end(&mut all).await.unwrap();
            stream.write_all(&all).await.unwrap();
            stream.close().await.unwrap();
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let payload: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        // Larger than the socket buffers: writes hit WouldBlock and wait for the reactor.
        stream.write_all(&payload).await.unwrap();
        stream.close().await.unwrap();
        let mut back = Vec::new();
        stream.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, payload);
        server.await.unwrap();
    });
}

#[test]
fn udp_echo_unconnected_and_connected() {
    let rt = runtime(2);
    rt.block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server_addr = server.local_addr().unwrap();
        let echo = kairos::spawn(async move {
            let mut buf = [0; 64];
            for _ in 0..20 {
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                server.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        for i in 0..10u8 {
            client.send_to(&[i; 8], server_addr).await.unwrap();
            let mut buf = [0; 64];
            let (n, from) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&[i; 8][..], server_addr));
        }
        client.connect(server_addr).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), server_addr);
        for i in 10..20u8 {
            client.send(&[i; 3]).await.unwrap();
            let mut buf = [0; 64];
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[i; 3]);
        }
        echo.await.unwrap();
    });
}

#[test]
fn unix_echo_through_a_listener_and_a_pair() {
    let path = std::env::temp_dir().join(format!("kairos-net-test-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let rt = runtime(2);
    rt.block_on(async {
        let listener = UnixListener::bind(&path).unwrap();
        let server = kairos::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 64];
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                stream.write_all(&buf[..n]).await.unwrap();
            }
        });
        let stream = UnixStream::connect(&path).await.unwrap();
        for i in 0..20u8 {
            stream.write_all(&[i; 16]).await.unwrap();
            let mut back = [0; 16];
            let mut got = 0;
            while got < 16 {
                got += stream.read(&mut back[got..]).await.unwrap();
            }
            assert_eq!(back, [i; 16]);
        }
        stream.shutdown(Shutdown::Write).unwrap();
        server.await.unwrap();

        let (a, b) = UnixStream::pair().unwrap();
        let t = kairos::spawn(async move {
            let mut buf = [0; 4];
            let n = b.read(&mut buf).await.unwrap();
            b.write_all(&buf[..n]).await.unwrap();
        });
        a.write_all(b"pair").await.unwrap();
        let mut buf = [0; 4];
        let mut got = 0;
        while got < 4 {
            got += a.read(&mut buf[got..]).await.unwrap();
        }
        assert_eq!(&buf, b"pair");
        t.await.unwrap();
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn connection_refused_is_a_typed_error() {
    let rt = runtime(1);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = rt
        .block_on(async move { TcpStream::connect(port).await })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn peer_reset_and_half_close() {
    let rt = runtime(2);
    let (addr_tx, addr_rx) = mpsc::channel();
    let server = rt.spawn(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        addr_tx.send(listener.local_addr().unwrap()).unwrap();
        // 1. Half-close: the client shuts its write direction; we read end-of-stream, then
        //    still answer.
        let (stream, _) = listener.accept().await.unwrap();
        let mut buf = [0; 16];
        let n = stream.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"question");
        assert_eq!(stream.read(&mut buf).await.unwrap(), 0);
        stream.write_all(b"answer").await.unwrap();
        drop(stream);
        // 2. Reset: the client closes with SO_LINGER 0, which sends RST.
        let (stream, _) = listener.accept().await.unwrap();
        let err = loop {
            match stream.read(&mut buf).await {
                Ok(0) => panic!("a reset read as end-of-stream"),
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
        // The server goes on: a third connection is served.
        let (stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"still here").await.unwrap();
    });
    let addr = addr_rx.recv_timeout(HANG).unwrap();
    {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"question").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "answer");
    }
    {
        let c = std::net::TcpStream::connect(addr).unwrap();
        socket2::SockRef::from(&c)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(c);
    }
    {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        assert_eq!(got, "still here");
    }
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(rt.block_on(server)).unwrap());
    done_rx.recv_timeout(HANG).unwrap().unwrap();
}

#[test]
fn read_timeout_through_kairos_time_timeout() {
    let rt = runtime(1);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut buf = [0; 8];
        // Nobody writes: the read times out, and the connection still works afterwards.
        let timed_out =
            kairos::time::timeout(Duration::from_millis(5), server.read(&mut buf)).await;
        assert!(timed_out.is_err(), "a read with no data did not time out");
        client.write_all(b"late").await.unwrap();
        let n = kairos::time::timeout(HANG, server.read(&mut buf))
            .await
            .expect("a read with data timed out")
            .unwrap();
        assert_eq!(&buf[..n], b"late");
    });
}

/// Counts its drops.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn dropping_the_runtime_closes_sockets_and_drops_waiting_tasks_once() {
    const CONNS: usize = 4;
    let rt = runtime(2);
    let drops = Arc::new(AtomicUsize::new(0));
    let (addr_tx, addr_rx) = mpsc::channel();
    let (accepted_tx, accepted_rx) = mpsc::channel();
    {
        let drops = drops.clone();
        rt.spawn(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            for _ in 0..CONNS {
                let (stream, _) = listener.accept().await.unwrap();
                let guard = DropCount(drops.clone());
                let accepted_tx = accepted_tx.clone();
                kairos::spawn(async move {
                    let _guard = guard;
                    accepted_tx.send(()).unwrap();
                    let mut buf = [0; 8];
                    // Waits forever: the clients never write.
                    let _ = stream.read(&mut buf).await;
                    unreachable!("a client wrote");
                });
            }
            // The listener task waits too, holding the listener.
            std::future::pending::<()>().await;
        });
    }
    let addr = addr_rx.recv_timeout(HANG).unwrap();
    let mut clients: Vec<_> = (0..CONNS)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    for _ in 0..CONNS {
        accepted_rx.recv_timeout(HANG).unwrap();
    }
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(rt);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        CONNS,
        "each waiting task dropped once"
    );
    // Every server-side socket was closed: each client reads end-of-stream.
    for c in &mut clients {
        c.set_read_timeout(Some(HANG)).unwrap();
        let mut buf = [0; 1];
        assert_eq!(c.read(&mut buf).unwrap(), 0);
    }
    // And the listener is closed: connecting is refused.
    let err = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
}

#[test]
fn a_socket_outliving_its_runtime_fails_instead_of_hanging() {
    let rt = runtime(1);
    let socket = rt.block_on(async { UdpSocket::bind("127.0.0.1:0").await.unwrap() });
    drop(rt);
    let rt2 = runtime(1);
    let err = rt2
        .block_on(async move {
            let mut buf = [0; 8];
            socket.recv_from(&mut buf).await
        })
        .unwrap_err();
    assert!(err.to_string().contains("dropped"), "{err}");
}

#[test]
fn sockets_outside_a_runtime_are_an_error() {
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let err = UnixStream::from_std(a).unwrap_err();
    assert!(err.to_string().contains("no kairos runtime"), "{err}");
}

#[test]
fn the_simulator_refuses_real_sockets() {
    let mut sim = kairos::sim::Builder::new().workers(1).build().unwrap();
    // Created inside the simulation: refused at once.
    let err = sim.block_on(async { UdpSocket::bind("127.0.0.1:0").await.unwrap_err() });
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let err = sim.block_on(async {
        kairos::spawn(async { TcpListener::bind("127.0.0.1:0").await.unwrap_err() })
            .await
            .unwrap()
    });
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    // Created on a real runtime, then waited on inside the simulation: an error, not a hang.
    let rt = runtime(1);
    let socket = rt.block_on(async { UdpSocket::bind("127.0.0.1:0").await.unwrap() });
    let err = sim.block_on(async move {
        let mut buf = [0; 8];
        socket.recv_from(&mut buf).await.unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

/// An I/O wake is an ordinary wake under the runtime's policy: two tasks woken by the same
/// reactor turn run in deadline order under `Edf`, whatever order their events came in.
///
/// One worker. Both tasks wait on a read; a third task then holds the worker (spinning on a
/// flag) while the main thread writes to the *late* task's socket first, then the early one's;
/// when the holder returns, the worker finds both events in one turn.
#[test]
fn io_wakes_keep_the_task_deadline_under_edf() {
    use kairos::{Policy, Sched};
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;
    let rt = Runtime::builder()
        .workers(1)
        .policy(Policy::Edf)
        .build()
        .unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (waiting_tx, waiting_rx) = mpsc::channel();
    let mut remotes = Vec::new();
    let mut handles = Vec::new();
    for (name, deadline) in [
        ("late", Duration::from_secs(10)),
        ("early", Duration::from_millis(1)),
    ] {
        let (local, remote) = std::os::unix::net::UnixStream::pair().unwrap();
        remotes.push(remote);
        let order = order.clone();
        let waiting_tx = waiting_tx.clone();
        handles.push(rt.spawn_with(Sched::new().deadline(deadline), async move {
            let stream = UnixStream::from_std(local).unwrap();
            let mut buf = [0; 1];
            // Drain the optimistic first check: nothing to read yet.
            waiting_tx.send(()).unwrap();
            assert_eq!(stream.read(&mut buf).await.unwrap(), 1);
            order.lock().unwrap().push(name);
        }));
    }
    waiting_rx.recv_timeout(HANG).unwrap();
    waiting_rx.recv_timeout(HANG).unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let (holding_tx, holding_rx) = mpsc::channel();
    let holder = {
        let release = release.clone();
        rt.spawn(async move {
            holding_tx.send(()).unwrap();
            while !release.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
        })
    };
    holding_rx.recv_timeout(HANG).unwrap();
    // The worker is held: both tasks are parked on their reads. Late first.
    remotes[0].write_all(b"x").unwrap();
    remotes[1].write_all(b"x").unwrap();
    release.store(true, Ordering::SeqCst);
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        rt.block_on(async move {
            holder.await.unwrap();
            for h in handles {
                h.await.unwrap();
            }
        });
        done_tx.send(()).unwrap();
    });
    done_rx.recv_timeout(HANG).unwrap();
    assert_eq!(*order.lock().unwrap(), ["early", "late"]);
}

/// Socket operations spend the cooperative budget: a task whose socket always has data still
/// yields, and a task queued behind it runs before it is done.
#[test]
fn a_task_that_always_finds_data_still_yields() {
    const BYTES: usize = 2000;
    let rt = runtime(1);
    let seen_by_other = rt.block_on(async {
        kairos::spawn(async {
            let (a, b) = UnixStream::pair().unwrap();
            a.write_all(&[7; BYTES]).await.unwrap();
            let progress = Arc::new(AtomicUsize::new(0));
            let other = {
                let progress = progress.clone();
                // Queued on this worker behind the reader.
                kairos::spawn(async move { progress.load(Ordering::SeqCst) })
            };
            let mut buf = [0; 1];
            for i in 1..=BYTES {
                assert_eq!(b.read(&mut buf).await.unwrap(), 1);
                progress.store(i, Ordering::SeqCst);
            }
            other.await.unwrap()
        })
        .await
        .unwrap()
    });
    assert!(
        seen_by_other > 0 && seen_by_other < BYTES,
        "the other task ran after {seen_by_other} of {BYTES} reads"
    );
}

/// Tasks made ready by I/O spread to the other workers: two tasks woken by their sockets each
/// hold their worker until the other has started, which only completes if both run at once,
/// on two workers (the waking worker wakes a parked one, which then polls for the other event
/// or steals the other task).
#[test]
fn tasks_woken_by_io_spread_to_parked_workers() {
    use std::sync::atomic::AtomicBool;
    let rt = runtime(2);
    let started = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    let (waiting_tx, waiting_rx) = mpsc::channel();
    let mut remotes = Vec::new();
    let mut handles = Vec::new();
    for me in 0..2 {
        let (local, remote) = std::os::unix::net::UnixStream::pair().unwrap();
        remotes.push(remote);
        let started = started.clone();
        let waiting_tx = waiting_tx.clone();
        handles.push(rt.spawn(async move {
            let stream = UnixStream::from_std(local).unwrap();
            waiting_tx.send(()).unwrap();
            let mut buf = [0; 1];
            assert_eq!(stream.read(&mut buf).await.unwrap(), 1);
            started[me].store(true, Ordering::SeqCst);
            // Hold this worker until the other task runs (on the other worker).
            let bound = std::time::Instant::now() + HANG;
            while !started[1 - me].load(Ordering::SeqCst) {
                assert!(
                    std::time::Instant::now() < bound,
                    "task {me} never saw the other run"
                );
                std::hint::spin_loop();
            }
        }));
    }
    waiting_rx.recv_timeout(HANG).unwrap();
    waiting_rx.recv_timeout(HANG).unwrap();
    for remote in &mut remotes {
        remote.write_all(b"x").unwrap();
    }
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let results: Vec<_> = handles.into_iter().map(|h| rt.block_on(h)).collect();
        done_tx.send(results).unwrap();
    });
    for result in done_rx.recv_timeout(HANG).unwrap() {
        result.unwrap();
    }
}

/// A busy worker whose polls are long (here 300 µs of wall time each, longer than
/// `EVENT_CHECK_NS`, 100 µs) checks for I/O at its next pick, not only every 61 picks: a byte
/// written while the one worker runs such polls wakes its reader within two polls of the
/// write. No clock threshold: the polls are counted, and "within two" holds whatever the
/// machine's speed because every poll is at least as long as the check interval. With the
/// pick count alone the reader waits for the 61st pick.
#[test]
fn a_busy_worker_with_long_polls_sees_io_at_its_next_pick() {
    use std::sync::atomic::AtomicBool;
    let rt = runtime(1);
    let (mut writer, read_end) = std::os::unix::net::UnixStream::pair().unwrap();
    let polls = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (reader, hog) = rt.block_on(async {
        let read_end = UnixStream::from_std(read_end).unwrap();
        let (p, s) = (polls.clone(), stop.clone());
        let reader = kairos::spawn(async move {
            let mut buf = [0u8; 1];
            assert_eq!(read_end.read(&mut buf).await.unwrap(), 1);
            let at_wake = p.load(Ordering::SeqCst);
            s.store(true, Ordering::SeqCst);
            at_wake
        });
        let (p, s) = (polls.clone(), stop.clone());
        let hog = kairos::spawn(async move {
            while !s.load(Ordering::SeqCst) {
                let start = std::time::Instant::now();
                while start.elapsed() < Duration::from_micros(300) {
                    std::hint::spin_loop();
                }
                p.fetch_add(1, Ordering::SeqCst);
                kairos::yield_now().await;
            }
        });
        (reader, hog)
    });
    // Write once the hog is running its long polls (the reader has parked on its read by then:
    // it was spawned first and the one worker runs tasks in order).
    while polls.load(Ordering::SeqCst) < 3 {
        std::thread::yield_now();
    }
    writer.write_all(b"x").unwrap();
    let after_write = polls.load(Ordering::SeqCst);
    let at_wake = rt.block_on(reader).unwrap();
    rt.block_on(hog).unwrap();
    assert!(
        at_wake <= after_write + 2,
        "the reader ran {} polls after the write (at {at_wake}, write at {after_write})",
        at_wake.saturating_sub(after_write)
    );
}

/// A task woken by I/O while the only worker runs a long computing poll is seen at that poll's
/// next cooperative check, not when the poll ends: under `Edf` and `Priority`, an urgent task
/// waits on a read; a less urgent task then computes in `work` pieces in one poll that goes
/// on until the urgent task has been served (it never returns `Pending` unless the runtime asks
/// it to yield); the main thread writes to the urgent task's socket. The urgent task runs in
/// the middle of the computing poll's work (it is served, so the computing task stops), where
/// a reactor checked only between polls would never see the write while the poll runs.
#[test]
fn io_readiness_is_seen_inside_a_computing_poll() {
    use kairos::{Policy, Sched};
    use std::sync::atomic::AtomicBool;
    for policy in [Policy::Edf, Policy::Priority] {
        let rt = Runtime::builder()
            .workers(1)
            .policy(policy)
            .build()
            .unwrap();
        let (local, mut remote) = std::os::unix::net::UnixStream::pair().unwrap();
        let served = Arc::new(AtomicBool::new(false));
        let (waiting_tx, waiting_rx) = mpsc::channel();
        let urgent = {
            let served = served.clone();
            let sched = Sched::new()
                .deadline(Duration::from_millis(1))
                .priority(250);
            rt.spawn_with(sched, async move {
                let stream = UnixStream::from_std(local).unwrap();
                let mut buf = [0; 1];
                waiting_tx.send(()).unwrap();
                assert_eq!(stream.read(&mut buf).await.unwrap(), 1);
                served.store(true, Ordering::SeqCst);
            })
        };
        waiting_rx.recv_timeout(HANG).unwrap();
        let (computing_tx, computing_rx) = mpsc::channel();
        let computing = rt.spawn(async move {
            computing_tx.send(()).unwrap();
            let start = std::time::Instant::now();
            while !served.load(Ordering::SeqCst) && start.elapsed() < HANG {
                kairos::work(Duration::from_millis(1)).await;
            }
            served.load(Ordering::SeqCst)
        });
        computing_rx.recv_timeout(HANG).unwrap();
        remote.write_all(b"x").unwrap();
        assert!(
            rt.block_on(computing).unwrap(),
            "{policy:?}: the urgent task was not served while the computing poll ran"
        );
        rt.block_on(urgent).unwrap();
    }
}
