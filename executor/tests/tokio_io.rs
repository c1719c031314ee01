//! With the `tokio-io` feature, kairos streams implement tokio's `AsyncRead`/`AsyncWrite`, so
//! tokio's extension traits (and the codecs and HTTP libraries built on them) run on
//! `kairos::net`. Run with `cargo test -p kairos --features tokio-io --test tokio_io`
//! (`scripts/test.sh` does).
#![cfg(feature = "tokio-io")]

use kairos::net::{TcpListener, TcpStream, UnixStream};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[test]
fn tokio_extension_traits_on_kairos_streams() {
    let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = kairos::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            // A line codec from tokio's BufReader, over a kairos read half.
            let mut lines = BufReader::new(read).lines();
            while let Some(line) = lines.next_line().await.unwrap() {
                write
                    .write_all(format!("{}\n", line.to_uppercase()).as_bytes())
                    .await
                    .unwrap();
            }
            write.shutdown().await.unwrap();
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        AsyncWriteExt::write_all(&mut stream, b"one\ntwo\n")
            .await
            .unwrap();
        AsyncWriteExt::shutdown(&mut stream).await.unwrap();
        let mut answer = String::new();
        AsyncReadExt::read_to_string(&mut stream, &mut answer)
            .await
            .unwrap();
        assert_eq!(answer, "ONE\nTWO\n");
        server.await.unwrap();

        let (mut a, mut b) = UnixStream::pair().unwrap();
        AsyncWriteExt::write_all(&mut a, b"unix").await.unwrap();
        let mut buf = [0; 4];
        AsyncReadExt::read_exact(&mut b, &mut buf).await.unwrap();
        assert_eq!(&buf, b"unix");
    });
}
