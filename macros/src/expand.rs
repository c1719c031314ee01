//! The expansion shared by both attributes: the `async fn` becomes a plain `fn` that builds a
//! runtime from the arguments and blocks on the original body.
//!
//! The body is pinned and coerced to `Pin<&mut dyn Future<Output = R>>`, with `R` the
//! function's declared return type, so `?` and `return` inside the body see that type, exactly as
//! in the `async fn` the user wrote.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, ReturnType};

use crate::args::Args;

/// Which attribute is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[kairos::main]`: the builder's defaults (one worker per core).
    Main,
    /// `#[kairos::test]`: adds `#[test]`; one worker unless `workers` says otherwise.
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[kairos::main]",
            Kind::Test => "#[kairos::test]",
        }
    }
}

/// Expands `item` under `attr`, or says what is wrong with them.
pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: Args = syn::parse2(attr)?;
    let func: ItemFn = syn::parse2(item)?;
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!("{} goes on an `async fn`; add `async`", kind.name()),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            format!("a function under {} takes no arguments", kind.name()),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!("a function under {} cannot be generic", kind.name()),
        ));
    }

    let krate = args
        .krate
        .as_ref()
        .map_or_else(|| quote!(::kairos), |p| quote!(#p));
    let workers = match (args.current_thread, args.workers, kind) {
        (Some(true), _, _) => quote!(.current_thread()),
        (_, Some(n), _) => quote!(.workers(#n)),
        (_, None, Kind::Test) => quote!(.workers(1)),
        (_, None, Kind::Main) => quote!(),
    };
    let policy = args.policy.map(|p| {
        let variant = syn::Ident::new(p, proc_macro2::Span::call_site());
        quote!(.policy(#krate::Policy::#variant))
    });
    let seed = args.seed.map(|s| quote!(.seed(#s)));
    let output = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };

    let attrs = &func.attrs;
    let vis = &func.vis;
    let name = &sig.ident;
    let ret = &sig.output;
    let body = &func.block;
    let test_attr = match kind {
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Main => quote!(),
    };
    let label = kind.name();
    let run = quote_spanned! {body.span()=>
        let body = async #body;
        let body = ::core::pin::pin!(body);
        let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #output>> = body;
        let runtime = #krate::Runtime::builder()
            #workers
            #policy
            #seed
            .build()
            .unwrap_or_else(|e| ::core::panic!("{}: could not build the runtime: {}", #label, e));
        runtime.block_on(body)
    };
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis fn #name() #ret {
            #run
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: Kind, attr: &str, item: &str) -> String {
        let attr: TokenStream = attr.parse().unwrap();
        let item: TokenStream = item.parse().unwrap();
        expand(kind, attr, item).unwrap_err().to_string()
    }

    fn ok(kind: Kind, attr: &str, item: &str) -> String {
        let attr: TokenStream = attr.parse().unwrap();
        let item: TokenStream = item.parse().unwrap();
        expand(kind, attr, item).unwrap().to_string()
    }

    #[test]
    fn arguments_become_builder_calls() {
        let out = ok(
            Kind::Main,
            "workers = 3, policy = \"edf\", seed = 7",
            "async fn main() {}",
        );
        assert!(out.contains(". workers (3usize)"), "{out}");
        assert!(
            out.contains(". policy (:: kairos :: Policy :: Edf)"),
            "{out}"
        );
        assert!(out.contains(". seed (7u64)"), "{out}");
    }

    #[test]
    fn test_defaults_to_one_worker_and_main_to_the_builder_default() {
        assert!(ok(Kind::Test, "", "async fn t() {}").contains(". workers (1)"));
        assert!(ok(Kind::Test, "", "async fn t() {}").contains(":: core :: prelude :: v1 :: test"));
        assert!(!ok(Kind::Main, "", "async fn main() {}").contains("workers"));
    }

    #[test]
    fn current_thread_flavor() {
        let out = ok(Kind::Test, "flavor = \"current_thread\"", "async fn t() {}");
        assert!(out.contains(". current_thread ()"), "{out}");
        assert!(!out.contains("workers"), "{out}");
    }

    #[test]
    fn policy_identifier_in_any_case_and_crate_path() {
        let out = ok(
            Kind::Main,
            "policy = priority, crate = \"::other::kairos\"",
            "async fn main() {}",
        );
        assert!(
            out.contains(":: other :: kairos :: Policy :: Priority"),
            "{out}"
        );
        assert!(
            out.contains(":: other :: kairos :: Runtime :: builder"),
            "{out}"
        );
    }

    #[test]
    fn bad_input_says_what_to_do() {
        assert!(err(Kind::Main, "", "fn main() {}").contains("add `async`"));
        assert!(err(Kind::Test, "", "async fn t(x: u8) {}").contains("takes no arguments"));
        assert!(err(Kind::Test, "", "async fn t<T>() {}").contains("cannot be generic"));
        assert!(err(Kind::Main, "workers = 0", "async fn main() {}").contains("at least 1"));
        assert!(err(Kind::Main, "workers = \"2\"", "async fn main() {}").contains("integer"));
        assert!(
            err(Kind::Main, "policy = Rr", "async fn main() {}").contains("unknown policy `Rr`")
        );
        assert!(
            err(Kind::Main, "flavour = 1", "async fn main() {}").contains("unknown key `flavour`")
        );
        assert!(err(Kind::Main, "seed = 1, seed = 2", "async fn main() {}").contains("twice"));
        assert!(err(Kind::Main, "workers", "async fn main() {}").contains("key = value"));
        assert!(err(Kind::Main, "flavor = \"x\"", "async fn main() {}").contains("current_thread"));
        let both = "flavor = \"current_thread\", workers = 2";
        assert!(err(Kind::Main, both, "async fn main() {}").contains("drop"));
    }
}
