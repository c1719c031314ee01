//! Files, on the blocking pool: [`read()`], [`write()`], [`metadata()`] and a [`File`] with async
//! reads and writes.
//!
//! Operating systems offer no readiness notification for regular files (epoll refuses them),
//! so each operation is a `std::fs` call run by [`spawn_blocking`](crate::spawn_blocking()): the
//! task waits, the worker runs other tasks meanwhile. A `File` operation copies through an
//! owned buffer (the pool thread cannot borrow the caller's). If the awaiting future is dropped
//! (a timeout, an abort), the call still completes on its thread: a write may land, a read
//! still advances the file position.
//!
//! Inside `kairos::sim` the calls run at once on the calling thread (see `spawn_blocking`):
//! real files work there, deterministically, in zero virtual time.
//!
//! ```
//! let rt = kairos::Runtime::builder().workers(1).build().unwrap();
//! let path = std::env::temp_dir().join(format!("kairos-fs-doc-{}", std::process::id()));
//! rt.block_on(async {
//!     kairos::fs::write(&path, b"hello").await.unwrap();
//!     assert_eq!(kairos::fs::read(&path).await.unwrap(), b"hello");
//!     assert_eq!(kairos::fs::metadata(&path).await.unwrap().len(), 5);
//!     kairos::fs::remove_file(&path).await.unwrap();
//! });
//! ```

use crate::blocking::spawn_blocking;
use crate::loom::Arc;
use std::fs::Metadata;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Runs `f` on the blocking pool and returns its result; a panic or a dropped runtime becomes
/// an `io::Error`.
async fn run<R: Send + 'static>(
    f: impl FnOnce() -> io::Result<R> + Send + 'static,
) -> io::Result<R> {
    match spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => Err(io::Error::other(format!(
            "kairos::fs: the blocking call failed: {e}"
        ))),
    }
}

/// Reads the whole file at `path` (`std::fs::read`).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    run(move || std::fs::read(path)).await
}

/// Reads the whole file at `path` as UTF-8 (`std::fs::read_to_string`).
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    run(move || std::fs::read_to_string(path)).await
}

/// Writes `contents` to `path`, creating or truncating it (`std::fs::write`).
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    run(move || std::fs::write(path, contents)).await
}

/// The metadata of `path`, following symbolic links (`std::fs::metadata`).
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    run(move || std::fs::metadata(path)).await
}

/// Removes the file at `path` (`std::fs::remove_file`).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    run(move || std::fs::remove_file(path)).await
}

/// An open file whose reads and writes run on the blocking pool.
///
/// ```
/// use kairos::fs::File;
///
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let path = std::env::temp_dir().join(format!("kairos-file-doc-{}", std::process::id()));
/// rt.block_on(async {
///     let mut f = File::create(&path).await.unwrap();
///     f.write_all(b"abc").await.unwrap();
///     f.sync_all().await.unwrap();
///     let mut f = File::open(&path).await.unwrap();
///     let mut buf = [0; 8];
///     let n = f.read(&mut buf).await.unwrap();
///     assert_eq!(&buf[..n], b"abc");
///     assert_eq!(f.read(&mut buf).await.unwrap(), 0);
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct File {
    /// The file, shared with the pool thread running the current operation.
    std: Arc<std::fs::File>,
}

impl File {
    /// Opens `path` for reading (`std::fs::File::open`).
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        let path: PathBuf = path.as_ref().to_owned();
        let std = run(move || std::fs::File::open(path)).await?;
        Ok(File::from_std(std))
    }

    /// Creates or truncates `path` for writing (`std::fs::File::create`).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        let path: PathBuf = path.as_ref().to_owned();
        let std = run(move || std::fs::File::create(path)).await?;
        Ok(File::from_std(std))
    }

    /// Wraps an open std file.
    pub fn from_std(std: std::fs::File) -> File {
        File { std: Arc::new(std) }
    }

    /// Reads up to `buf.len()` bytes at the file position; `Ok(0)` at the end.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let file = self.std.clone();
        let len = buf.len();
        let data = run(move || {
            let mut data = vec![0; len];
            let n = (&*file).read(&mut data)?;
            data.truncate(n);
            Ok(data)
        })
        .await?;
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    /// Reads to the end of the file, appending to `buf`; returns the bytes read.
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let file = self.std.clone();
        let data = run(move || {
            let mut data = Vec::new();
            (&*file).read_to_end(&mut data)?;
            Ok(data)
        })
        .await?;
        buf.extend_from_slice(&data);
        Ok(data.len())
    }

    /// Writes some of `buf` at the file position; returns how much.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let file = self.std.clone();
        let data = buf.to_owned();
        run(move || (&*file).write(&data)).await
    }

    /// Writes all of `buf`.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let file = self.std.clone();
        let data = buf.to_owned();
        run(move || (&*file).write_all(&data)).await
    }

    /// Moves the file position (`Seek::seek`); returns the new position.
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let file = self.std.clone();
        run(move || (&*file).seek(pos)).await
    }

    /// Flushes data and metadata to the device (`fsync`).
    pub async fn sync_all(&self) -> io::Result<()> {
        let file = self.std.clone();
        run(move || file.sync_all()).await
    }

    /// The file's metadata.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let file = self.std.clone();
        run(move || file.metadata()).await
    }
}
