//! kairos' macros, written with `macro_rules!` only (no dependency): `kairos::select!`,
//! `kairos::join!` and `kairos::try_join!` (waiting on several futures in one task), and
//! `kairos::task_local!` (declaring keys of `task/local.rs`).
//!
//! # How `select!` runs
//!
//! 1. Every precondition (`, if cond`) is evaluated, in branch order; a `false` one disables its
//!    branch for this `select!`.
//! 2. Every future expression is evaluated, in branch order (disabled branches too), and pinned
//!    on the stack.
//! 3. The futures are polled, each poll of the `select!` starting at one branch and going round:
//!    with `biased;` always at the first branch, otherwise at a start drawn for each poll from
//!    the **worker's seeded `select!` stream** (a SplitMix64 stream of its own per worker, seeded
//!    from the runtime seed, `Builder::seed` / `sim::Builder::seed`, and the worker index; it
//!    never shifts the workers' victim order). Under the simulator every virtual worker has its
//!    own stream, so the start, like every other decision, is a function of the seed. Outside a
//!    task poll on a worker (inside `block_on`'s own future, on another executor) there is no
//!    stream and the start is the first branch.
//! 4. When a future completes, its value is matched against the branch's pattern. If it
//!    matches, every future is dropped and the branch's handler runs with the pattern's
//!    bindings; the handler's value is the value of the `select!`. If it does not match, the
//!    branch is disabled and the others go on.
//! 5. When every branch is disabled, the `else` handler runs; without an `else` branch the
//!    `select!` panics (a bug in the caller: nothing can complete it).
//!
//! Handlers run outside the polling, as ordinary code of the enclosing `async` block: they may
//! `.await`, `return`, `break`, `continue` and use `?`, and they may use what the futures
//! borrowed (the futures are gone by then).
//!
//! # Limits
//!
//! At most 32 branches (and 32 futures in `join!` / `try_join!`). A handler that starts with
//! `{` is taken as a block (put a comma after it, or write it as `{ ... }` whole). Patterns are
//! matched against a reference first (to decide without moving the value): a pattern with
//! `mut` bindings or a by-move binding that default binding modes reject there must be
//! rewritten (bind, then use `let mut` in the handler).

/// The first branch a non-biased `select!` with `n` branches polls: from the current worker's
/// seeded `select!` stream inside a task poll, 0 anywhere else. Not a public API (used by the
/// expansion of [`select!`](crate::select)).
#[doc(hidden)]
pub fn select_start(n: u32) -> u32 {
    if n <= 1 {
        return 0;
    }
    crate::context::with_handle(|handle| {
        handle.and_then(|handle| {
            crate::context::with_local_core(handle, |_, core| core.select_start(n))
        })
    })
    .unwrap_or(0)
}

/// Waits on several futures at once and runs the handler of the first to complete whose
/// output matches its pattern; the other futures are dropped (cancelled).
///
/// ```text
/// kairos::select! {
///     [biased;]
///     <pattern> = <future> [, if <precondition>] => <handler>,
///     ...
///     [else => <handler>]
/// }
/// ```
///
/// Non-biased, the first branch polled is drawn, for each poll of the `select!`, from the
/// current worker's seeded stream (deterministic per seed under the simulator); `biased;` polls
/// the branches in the order written. The module docs of `executor/src/macros.rs` (and
/// `docs/sync.md`, "Tasks") say exactly how it runs.
///
/// # Panics
/// When every branch is disabled (precondition false, or output not matching its pattern) and
/// there is no `else` branch.
///
/// ```
/// use std::time::Duration;
/// let mut sim = kairos::sim::Builder::new().build().unwrap();
/// let out = sim.block_on(async {
///     let fast = kairos::spawn(async { 1 });
///     kairos::select! {
///         Ok(v) = fast => v,
///         _ = kairos::time::sleep(Duration::from_secs(1)) => 0,
///     }
/// });
/// assert_eq!(out, 1);
/// ```
///
/// `biased;`, a precondition and `else`:
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let out = rt.block_on(async {
///     let allow_second = false;
///     kairos::select! {
///         biased;
///         Some(v) = async { None::<u32> } => v,        // no match: branch disabled
///         v = async { 2u32 }, if allow_second => v,   // disabled by its precondition
///         else => 99,
///     }
/// });
/// assert_eq!(out, 99);
/// ```
#[macro_export]
macro_rules! select {
    (biased; $($input:tt)*) => {
        $crate::__select_parse!(@(true) () () ; $($input)*)
    };
    ($($input:tt)*) => {
        $crate::__select_parse!(@(false) () () ; $($input)*)
    };
}

/// Parses `select!`'s branches into `[(pattern) (future) (precondition) (handler)]` groups.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // Done.
    (@($b:tt) ($($br:tt)*) ($($else:tt)*) ;) => {
        $crate::__select_assign!(@($b) ($($br)*) () ($($else)*) ((0 _0) (1 _1) (2 _2) (3 _3) (4 _4) (5 _5) (6 _6) (7 _7) (8 _8) (9 _9) (10 _10) (11 _11) (12 _12) (13 _13) (14 _14) (15 _15) (16 _16) (17 _17) (18 _18) (19 _19) (20 _20) (21 _21) (22 _22) (23 _23) (24 _24) (25 _25) (26 _26) (27 _27) (28 _28) (29 _29) (30 _30) (31 _31)))
    };
    // `else` branch (last).
    (@($b:tt) ($($br:tt)*) () ; else => $h:block $(,)?) => {
        $crate::__select_parse!(@($b) ($($br)*) ($h) ;)
    };
    (@($b:tt) ($($br:tt)*) () ; else => $h:expr $(,)?) => {
        $crate::__select_parse!(@($b) ($($br)*) ($h) ;)
    };
    // Branches with a precondition.
    (@($b:tt) ($($br:tt)*) ($($else:tt)*) ;
        $p:pat = $f:expr, if $c:expr => $h:block $(,)? $($rest:tt)*) => {
        $crate::__select_parse!(@($b) ($($br)* [($p) ($f) ($c) ($h)]) ($($else)*) ; $($rest)*)
    };
    (@($b:tt) ($($br:tt)*) ($($else:tt)*) ;
        $p:pat = $f:expr, if $c:expr => $h:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@($b) ($($br)* [($p) ($f) ($c) ($h)]) ($($else)*) ; $($($rest)*)?)
    };
    // Branches without one.
    (@($b:tt) ($($br:tt)*) ($($else:tt)*) ;
        $p:pat = $f:expr => $h:block $(,)? $($rest:tt)*) => {
        $crate::__select_parse!(@($b) ($($br)* [($p) ($f) (true) ($h)]) ($($else)*) ; $($rest)*)
    };
    (@($b:tt) ($($br:tt)*) ($($else:tt)*) ;
        $p:pat = $f:expr => $h:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@($b) ($($br)* [($p) ($f) (true) ($h)]) ($($else)*) ; $($($rest)*)?)
    };
}

/// Gives each parsed branch an index and a name from the slot list.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_assign {
    (@($b:tt) () ($($done:tt)*) ($($else:tt)*) ($($slots:tt)*)) => {
        $crate::__select_emit!(@($b) ($($done)*) ($($else)*))
    };
    (@($b:tt) ([$($br:tt)*] $($todo:tt)*) ($($done:tt)*) ($($else:tt)*)
        (($i:tt $v:ident) $($slots:tt)*)) => {
        $crate::__select_assign!(@($b) ($($todo)*) ($($done)* [($i $v) $($br)*]) ($($else)*)
            ($($slots)*))
    };
    (@($b:tt) ([$($br:tt)*] $($todo:tt)*) ($($done:tt)*) ($($else:tt)*) ()) => {
        ::core::compile_error!("kairos::select! takes at most 32 branches")
    };
}

/// The `select!` expression itself.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_emit {
    (@($b:tt) ($([($i:tt $v:ident) ($p:pat) ($f:expr) ($c:expr) ($h:tt)])+) ($($else:tt)*)) => {{
        #[allow(non_camel_case_types, dead_code)]
        enum __SelectOut<$($v,)+> {
            $($v($v),)+
            Disabled,
        }
        let __select_out = {
            let __select_n: u32 = 0 $(+ { let _ = $i; 1 })+;
            let mut __select_disabled: u64 = 0;
            $(
                if !$c {
                    __select_disabled |= 1u64 << $i;
                }
            )+
            $(
                #[allow(unused_mut)]
                let mut $v = ::core::pin::pin!($f);
            )+
            let __select_all: u64 = (1u64 << __select_n) - 1;
            ::core::future::poll_fn(|__select_cx| {
                let __select_start: u32 = if $b {
                    0
                } else {
                    $crate::__private::select_start(__select_n)
                };
                for __select_k in 0..__select_n {
                    let __select_i = (__select_start + __select_k) % __select_n;
                    if __select_disabled & (1u64 << __select_i) != 0 {
                        continue;
                    }
                    match __select_i {
                        $(
                            $i => {
                                if let ::core::task::Poll::Ready(__select_v) =
                                    ::core::future::Future::poll($v.as_mut(), __select_cx)
                                {
                                    #[allow(unused_variables, unreachable_patterns)]
                                    match &__select_v {
                                        $p => {
                                            return ::core::task::Poll::Ready(
                                                __SelectOut::$v(__select_v),
                                            );
                                        }
                                        _ => __select_disabled |= 1u64 << $i,
                                    }
                                }
                            }
                        )+
                        _ => ::core::unreachable!(),
                    }
                }
                if __select_disabled == __select_all {
                    ::core::task::Poll::Ready(__SelectOut::Disabled)
                } else {
                    ::core::task::Poll::Pending
                }
            })
            .await
        };
        #[allow(unreachable_patterns, unused_variables)]
        match __select_out {
            $(__SelectOut::$v($p) => $h,)+
            __SelectOut::Disabled => $crate::__select_else!($($else)*),
            _ => ::core::unreachable!("a select! output matched its pattern once"),
        }
    }};
}

/// The `else` handler, or the panic when there is none.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_else {
    () => {
        ::core::panic!(
            "kairos::select!: every branch is disabled (precondition false or output not \
             matching its pattern) and there is no `else` branch: add `else => ...`"
        )
    };
    ($h:tt) => {
        $h
    };
}

/// Waits for every future and returns their outputs as a tuple, in the order written. The
/// futures run concurrently in the calling task (no tasks are spawned); each poll of the
/// `join!` polls every future not yet finished, in the order written.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let (a, b) = rt.block_on(async {
///     kairos::join!(async { 1 }, async {
///         kairos::yield_now().await;
///         "two"
///     })
/// });
/// assert_eq!((a, b), (1, "two"));
/// ```
#[macro_export]
macro_rules! join {
    ($($f:expr),+ $(,)?) => {
        $crate::__join_assign!(@join ($($f,)+) () ((0 _0) (1 _1) (2 _2) (3 _3) (4 _4) (5 _5) (6 _6) (7 _7) (8 _8) (9 _9) (10 _10) (11 _11) (12 _12) (13 _13) (14 _14) (15 _15) (16 _16) (17 _17) (18 _18) (19 _19) (20 _20) (21 _21) (22 _22) (23 _23) (24 _24) (25 _25) (26 _26) (27 _27) (28 _28) (29 _29) (30 _30) (31 _31)))
    };
}

/// Waits for every future, each giving a `Result`: returns `Ok` of the tuple of outputs, or the
/// first `Err` as soon as one future gives it (the other futures are then dropped). All errors
/// must have the same type.
///
/// ```
/// let rt = kairos::Runtime::builder().workers(1).build().unwrap();
/// let r: Result<(u8, u8), &str> = rt.block_on(async {
///     kairos::try_join!(async { Ok(1) }, async { Err("second failed") })
/// });
/// assert_eq!(r, Err("second failed"));
/// ```
#[macro_export]
macro_rules! try_join {
    ($($f:expr),+ $(,)?) => {
        $crate::__join_assign!(@try ($($f,)+) () ((0 _0) (1 _1) (2 _2) (3 _3) (4 _4) (5 _5) (6 _6) (7 _7) (8 _8) (9 _9) (10 _10) (11 _11) (12 _12) (13 _13) (14 _14) (15 _15) (16 _16) (17 _17) (18 _18) (19 _19) (20 _20) (21 _21) (22 _22) (23 _23) (24 _24) (25 _25) (26 _26) (27 _27) (28 _28) (29 _29) (30 _30) (31 _31)))
    };
}

/// Names `join!`'s futures from the slot list.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_assign {
    (@$kind:ident () ($($done:tt)*) ($($slots:tt)*)) => {
        $crate::__join_emit!(@$kind $($done)*)
    };
    (@$kind:ident ($f:expr, $($todo:tt)*) ($($done:tt)*) (($i:tt $v:ident) $($slots:tt)*)) => {
        $crate::__join_assign!(@$kind ($($todo)*) ($($done)* [$v ($f)]) ($($slots)*))
    };
    (@$kind:ident ($f:expr, $($todo:tt)*) ($($done:tt)*) ()) => {
        ::core::compile_error!("kairos::join! and try_join! take at most 32 futures")
    };
}

/// The `join!` / `try_join!` expression.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_emit {
    (@join $([$v:ident ($f:expr)])+) => {{
        $(
            let mut $v = (::core::pin::pin!($f), ::core::option::Option::None);
        )+
        ::core::future::poll_fn(|__join_cx| {
            let mut __join_done = true;
            $(
                if $v.1.is_none() {
                    match ::core::future::Future::poll($v.0.as_mut(), __join_cx) {
                        ::core::task::Poll::Ready(out) => $v.1 = ::core::option::Option::Some(out),
                        ::core::task::Poll::Pending => __join_done = false,
                    }
                }
            )+
            if __join_done {
                ::core::task::Poll::Ready(($($v.1.take().expect("join! output taken once"),)+))
            } else {
                ::core::task::Poll::Pending
            }
        })
        .await
    }};
    (@try $([$v:ident ($f:expr)])+) => {{
        $(
            let mut $v = (::core::pin::pin!($f), ::core::option::Option::None);
        )+
        ::core::future::poll_fn(|__join_cx| {
            let mut __join_done = true;
            $(
                if $v.1.is_none() {
                    match ::core::future::Future::poll($v.0.as_mut(), __join_cx) {
                        ::core::task::Poll::Ready(::core::result::Result::Ok(out)) => {
                            $v.1 = ::core::option::Option::Some(out)
                        }
                        ::core::task::Poll::Ready(::core::result::Result::Err(e)) => {
                            return ::core::task::Poll::Ready(::core::result::Result::Err(e));
                        }
                        ::core::task::Poll::Pending => __join_done = false,
                    }
                }
            )+
            if __join_done {
                ::core::task::Poll::Ready(::core::result::Result::Ok((
                    $($v.1.take().expect("try_join! output taken once"),)+
                )))
            } else {
                ::core::task::Poll::Pending
            }
        })
        .await
    }};
}

/// Declares task-local keys: `[pub] static NAME: Type;`, one or more. Each is a
/// [`LocalKey`](crate::task::LocalKey); give it a value for a future with
/// [`LocalKey::scope`](crate::task::LocalKey::scope).
///
/// ```
/// kairos::task_local! {
///     /// The request being served.
///     pub static REQUEST_ID: u64;
///     static USER: String;
/// }
///
/// let rt = kairos::Runtime::builder().workers(2).build().unwrap();
/// let id = rt.block_on(REQUEST_ID.scope(42, async {
///     kairos::yield_now().await; // carried across awaits
///     REQUEST_ID.get()
/// }));
/// assert_eq!(id, 42);
/// assert!(USER.try_with(|u| u.len()).is_err()); // no scope here
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

/// One task-local key.
#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __KAIROS_TASK_LOCAL: ::core::cell::RefCell<::core::option::Option<$t>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }
            $crate::task::LocalKey::__new(&__KAIROS_TASK_LOCAL)
        };
    };
}
