//! The arguments of `#[kairos::main(...)]` and `#[kairos::test(...)]`: `name = value` pairs,
//! separated by commas, each at most once.
//!
//! | key | value | builder call |
//! |---|---|---|
//! | `workers` | integer literal, at least 1 | `Builder::workers` |
//! | `policy` | `Fifo`, `Edf`, `Priority`, `Fair` (an identifier or a string, any case) | `Builder::policy` |
//! | `seed` | integer literal | `Builder::seed` |
//! | `flavor` | `"multi_thread"` (default) or `"current_thread"` (no worker thread: the calling thread runs the tasks; excludes `workers`) | `Builder::current_thread` |
//! | `crate` | string naming the path of the `kairos` crate, e.g. `"::my_reexport::kairos"` | (none: where the expansion looks for `Runtime`) |

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Token};

/// The policies a runtime can be built with, as the `Policy` enum names them.
const POLICIES: [&str; 4] = ["Fifo", "Edf", "Priority", "Fair"];

/// The keys the attributes take, for the error that lists them.
const KEYS: &str = "`workers`, `policy`, `seed`, `flavor`, `crate`";

/// Parsed attribute arguments; `None` leaves the builder's default.
#[derive(Default)]
pub(crate) struct Args {
    /// Worker threads (`Builder::workers`).
    pub(crate) workers: Option<usize>,
    /// The `Policy` variant's name, spelled as in the enum.
    pub(crate) policy: Option<&'static str>,
    /// Seed of the runtime's random streams (`Builder::seed`).
    pub(crate) seed: Option<u64>,
    /// `flavor = "current_thread"`: `Builder::current_thread`.
    pub(crate) current_thread: Option<bool>,
    /// Path of the kairos crate; `::kairos` when absent.
    pub(crate) krate: Option<syn::Path>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Args> {
        let mut args = Args::default();
        for meta in Punctuated::<Meta, Token![,]>::parse_terminated(input)? {
            let nv = match meta {
                Meta::NameValue(nv) => nv,
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        format!("expected `key = value`; the keys are {KEYS}"),
                    ))
                }
            };
            let key = nv
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            let span = syn::spanned::Spanned::span(&nv.path);
            match key.as_str() {
                "workers" => {
                    once(&args.workers, span, "workers")?;
                    let n: usize = int(&nv.value, "workers")?;
                    if n == 0 {
                        return Err(syn::Error::new_spanned(
                            &nv.value,
                            "`workers` must be at least 1",
                        ));
                    }
                    args.workers = Some(n);
                }
                "policy" => {
                    once(&args.policy, span, "policy")?;
                    args.policy = Some(policy(&nv.value)?);
                }
                "seed" => {
                    once(&args.seed, span, "seed")?;
                    args.seed = Some(int(&nv.value, "seed")?);
                }
                "flavor" => {
                    once(&args.current_thread, span, "flavor")?;
                    let flavor = match &nv.value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => s.value(),
                        _ => String::new(),
                    };
                    args.current_thread = Some(match flavor.as_str() {
                        "current_thread" => true,
                        "multi_thread" => false,
                        _ => {
                            return Err(syn::Error::new_spanned(
                                &nv.value,
                                "`flavor` is \"current_thread\" or \"multi_thread\"",
                            ))
                        }
                    });
                }
                "crate" => {
                    once(&args.krate, span, "crate")?;
                    let path = match &nv.value {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => s.parse::<syn::Path>()?,
                        other => {
                            return Err(syn::Error::new_spanned(
                                other,
                                "`crate` takes a string, e.g. `crate = \"::kairos\"`",
                            ))
                        }
                    };
                    args.krate = Some(path);
                }
                _ => {
                    return Err(syn::Error::new(
                        span,
                        format!("unknown key `{key}`; the keys are {KEYS}"),
                    ))
                }
            }
        }
        if args.current_thread == Some(true) && args.workers.is_some() {
            return Err(syn::Error::new(
                Span::call_site(),
                "`flavor = \"current_thread\"` runs one worker on the calling thread: drop \
                 `workers`, or use `flavor = \"multi_thread\"`",
            ));
        }
        Ok(args)
    }
}

/// Rejects a key given twice.
fn once<T>(slot: &Option<T>, span: Span, key: &str) -> syn::Result<()> {
    match slot {
        Some(_) => Err(syn::Error::new(span, format!("`{key}` is given twice"))),
        None => Ok(()),
    }
}

/// An integer literal of the target type.
fn int<N>(value: &Expr, key: &str) -> syn::Result<N>
where
    N: std::str::FromStr,
    N::Err: std::fmt::Display,
{
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse(),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes an integer literal"),
        )),
    }
}

/// A policy name, as an identifier (`Edf`) or a string (`"edf"`), in any case.
fn policy(value: &Expr) -> syn::Result<&'static str> {
    let given = match value {
        Expr::Path(p) if p.path.get_ident().is_some() => p
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default(),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => s.value(),
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "`policy` takes one of `Fifo`, `Edf`, `Priority`, `Fair`",
            ))
        }
    };
    POLICIES
        .iter()
        .find(|p| p.eq_ignore_ascii_case(&given))
        .copied()
        .ok_or_else(|| {
            syn::Error::new_spanned(
                value,
                format!(
                    "unknown policy `{given}`; the policies are `Fifo`, `Edf`, `Priority`, `Fair`"
                ),
            )
        })
}
