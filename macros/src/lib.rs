//! `#[kairos::main]` and `#[kairos::test]`: run an `async fn` on a kairos runtime.
//!
//! Use them through the `kairos` crate, which re-exports both; this crate is an implementation
//! detail. Both turn the `async fn` into a plain `fn` that builds a `kairos::Runtime` with the
//! given arguments and calls `Runtime::block_on` on the body. The arguments (all optional):
//! `workers = N`, `policy = Edf` (or `Fifo`, `Priority`, `Fair`; a string works too),
//! `seed = N`, `flavor = "current_thread"` (the calling thread runs every task, no worker
//! thread), and `crate = "path"` when `kairos` is reachable under another path.
//!
//! A runtime that cannot be built (for example `seed` with an invalid combination the builder
//! rejects) panics with the builder's error, naming the attribute.
#![warn(missing_docs)]

mod args;
mod expand;

use proc_macro::TokenStream;

use expand::Kind;

/// Runs `async fn main` on a kairos runtime.
///
/// Without arguments the runtime has the builder's defaults: one worker per core, `Policy::Fifo`.
///
/// ```
/// #[kairos::main(workers = 2, policy = Edf)]
/// async fn main() {
///     let v = kairos::spawn(async { 40 + 2 }).await.unwrap();
///     assert_eq!(v, 42);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::Main, attr, item)
}

/// Runs an `async fn` test on its own kairos runtime, one worker unless `workers` says otherwise.
///
/// ```
/// #[kairos::test(policy = Priority)]
/// async fn adds() {
///     assert_eq!(kairos::spawn(async { 1 + 1 }).await.unwrap(), 2);
/// }
/// ```
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    run(Kind::Test, attr, item)
}

fn run(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand::expand(kind, attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}
