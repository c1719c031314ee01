//! `accept` hitting the file-descriptor limit (`EMFILE`): the error is returned, the server
//! keeps running, and it accepts again once a descriptor is free. The limit is lowered in a
//! child process (this test binary re-run for the ignored test `emfile_child`), so that the
//! other tests keep theirs.

use kairos::net::TcpListener;
use std::io::{Read, Write};
use std::process::Command;

#[test]
fn accept_survives_emfile_in_a_child_process() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "emfile_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("emfile seen"),
        "the child never hit EMFILE:\n{stdout}"
    );
}

/// The lowest free descriptor number.
fn lowest_free_fd() -> i32 {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open("/dev/null").unwrap();
    f.as_raw_fd()
}

#[test]
#[ignore = "run by accept_survives_emfile_in_a_child_process in its own process"]
fn emfile_child() {
    let rt = kairos::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Clients first: their descriptors must exist before the limit is lowered.
        let mut clients: Vec<_> = (0..2)
            .map(|i| {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                c.write_all(&[i]).unwrap();
                c
            })
            .collect();
        // A descriptor to give back later.
        let spare = std::fs::File::open("/dev/null").unwrap();
        let limit = lowest_free_fd();
        let mut rlimit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `getrlimit` writes the struct we pass, which outlives the call.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rlimit) };
        assert_eq!(rc, 0, "getrlimit: {}", std::io::Error::last_os_error());
        rlimit.rlim_cur = limit as libc::rlim_t;
        // SAFETY: `setrlimit` reads the struct we pass; it has no other memory effect.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) };
        assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
        // Every descriptor is taken: the pending connection cannot be accepted.
        let err = listener.accept().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        println!("emfile seen: {err}");
        // Still EMFILE while nothing is freed (the listener stays usable, nothing panics).
        let err = listener.accept().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
        // Free one descriptor: the server accepts again, and serves.
        drop(spare);
        let (stream, _) = listener.accept().await.unwrap();
        let mut buf = [0; 1];
        let n = stream.read(&mut buf).await.unwrap();
        assert_eq!((n, buf[0]), (1, 0));
        stream.write_all(b"ok").await.unwrap();
        let mut answer = [0; 2];
        clients[0].read_exact(&mut answer).unwrap();
        assert_eq!(&answer, b"ok");
        // The second connection after freeing the first stream's descriptor.
        drop(stream);
        let (stream, _) = listener.accept().await.unwrap();
        let n = stream.read(&mut buf).await.unwrap();
        assert_eq!((n, buf[0]), (1, 1));
        drop(clients.pop());
    });
}
