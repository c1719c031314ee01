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

/// The hyper server of `examples/http_server.rs`, included as a module.
#[allow(dead_code)]
#[path = "../examples/http_server.rs"]
mod http_server;

#[test]
fn the_hyper_example_serves_requests_from_hyper_s_client() {
    use http_body_util::BodyExt;
    use hyper_util::rt::TokioIo;
    let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = kairos::spawn(http_server::serve(listener));
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        let conn = kairos::spawn(conn);
        for (path, status, body) in [
            ("/", 200, "hello from kairos\n"),
            ("/missing", 404, "not found\n"),
            ("/", 200, "hello from kairos\n"),
        ] {
            let res = send(&mut sender, path, addr).await;
            assert_eq!(res.status().as_u16(), status, "{path}");
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(bytes, body.as_bytes(), "{path}");
        }
        // The request was served by a kairos worker thread.
        let res = send(&mut sender, "/worker", addr).await;
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        assert!(
            bytes.starts_with(b"kairos"),
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
        drop(sender);
        conn.await.unwrap().unwrap();
        server.abort();
    });
}

/// GETs `path` over the HTTP/1 connection of `sender`, once the connection takes a request
/// (HTTP/1 takes the next request only when the previous exchange is finished).
async fn send(
    sender: &mut hyper::client::conn::http1::SendRequest<http_body_util::Empty<bytes::Bytes>>,
    path: &str,
    addr: std::net::SocketAddr,
) -> hyper::Response<hyper::body::Incoming> {
    let req = hyper::Request::get(path)
        .header("host", addr.to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    sender.ready().await.unwrap();
    sender.send_request(req).await.unwrap()
}
