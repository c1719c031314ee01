//! An HTTP/1.1 server with hyper on `kairos::net`: hyper drives each connection through the
//! tokio I/O traits that kairos streams implement with the `tokio-io` feature
//! (`hyper_util::rt::TokioIo` adapts them to hyper's own traits).
//!
//! ```text
//! cargo run --release -p kairos --features tokio-io --example http_server -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/
//! ```
//!
//! `GET /` answers `hello from kairos`, `GET /worker` names the worker that served the request,
//! anything else is a 404. One task per connection; `executor/tests/tokio_io.rs` starts the same
//! server on 127.0.0.1 and sends it requests with hyper's client.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use kairos::net::TcpListener;
use std::convert::Infallible;

/// Answers one request.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match req.uri().path() {
        "/" => Response::new(Full::new(Bytes::from_static(b"hello from kairos\n"))),
        "/worker" => {
            let name = std::thread::current().name().unwrap_or("?").to_owned();
            Response::new(Full::new(Bytes::from(format!("{name}\n"))))
        }
        _ => {
            let mut not_found = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *not_found.status_mut() = StatusCode::NOT_FOUND;
            not_found
        }
    };
    Ok(response)
}

/// Accepts connections on `listener` forever, one task each. An accept error (out of file
/// descriptors, for one) is reported and the loop goes on.
pub async fn serve(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                eprintln!("http_server: accept failed: {e}");
                kairos::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        kairos::spawn(async move {
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await
            {
                eprintln!("http_server: connection error: {e}");
            }
        });
    }
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let rt = kairos::Runtime::builder().workers(2).build().unwrap();
    rt.block_on(async {
        let listener = match TcpListener::bind(&addr).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("http_server: cannot bind {addr}: {e}");
                std::process::exit(1);
            }
        };
        println!("listening on http://{}", listener.local_addr().unwrap());
        serve(listener).await;
    });
}
