//! `export_jobs!(a, b, c; settings...)`: the module description and the WIT export glue.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprPath, Path, Token};

use crate::suggest;
use crate::syntax::{self, Entry};

/// What `export_jobs!` was given.
struct Module {
    jobs: Vec<Path>,
    settings: Vec<Entry>,
}

impl Parse for Module {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut jobs = Vec::new();
        while !input.is_empty() && !input.peek(Token![;]) {
            jobs.push(input.parse::<Path>()?);
            if input.is_empty() || input.peek(Token![;]) {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        let mut settings = Vec::new();
        if input.parse::<Option<Token![;]>>()?.is_some() {
            let list: Punctuated<Entry, Token![,]> = syntax::entries(input)?;
            settings = list.into_iter().collect();
        }
        Ok(Self { jobs, settings })
    }
}

const SETTINGS: &[&str] = &[
    "targets",
    "parallel",
    "mode",
    "separator",
    "allow_missing_deps",
    "params",
    "task_db",
    "inputs_ignore",
];

/// The module-level settings as `ModuleSpec` field tokens.
struct Settings {
    targets: TokenStream,
    /// The default targets as written, for the check that each names a job.
    target_names: Vec<syn::LitStr>,
    /// The separator as written (`::` when not set).
    separator_text: String,
    /// `allow_missing_deps = false`.
    denies_missing_deps: bool,
    parallel: TokenStream,
    mode: TokenStream,
    separator: TokenStream,
    allow_missing_deps: TokenStream,
    params: TokenStream,
    task_db: TokenStream,
    inputs_ignore: TokenStream,
}

fn settings(entries: &[Entry]) -> syn::Result<Settings> {
    syntax::check_unique(entries)?;
    let none = quote!(::core::option::Option::None);
    let mut settings = Settings {
        targets: quote!(&[]),
        target_names: Vec::new(),
        separator_text: "::".to_owned(),
        denies_missing_deps: false,
        parallel: none.clone(),
        mode: none.clone(),
        separator: none.clone(),
        allow_missing_deps: none.clone(),
        params: quote!(&[]),
        task_db: none,
        inputs_ignore: quote!(&[]),
    };
    for entry in entries {
        match entry.name().as_str() {
            "targets" => {
                let targets = syntax::strings(entry.expr("targets = [\"...\"]")?, "targets")?;
                settings.targets = quote!(&[#(#targets),*]);
                settings.target_names = targets;
            }
            "parallel" => {
                let expr = entry.expr("parallel = N")?;
                let n: u32 = syntax::integer(expr, "`parallel`")?;
                if n == 0 {
                    return Err(syn::Error::new_spanned(
                        expr,
                        "`parallel` must be at least 1",
                    ));
                }
                settings.parallel = quote!(::core::option::Option::Some(#n));
            }
            "mode" => {
                let how = "`mode = parallel` or `mode = single`";
                let expr = entry.expr(how)?;
                let mode = match expr {
                    Expr::Path(ExprPath {
                        path, qself: None, ..
                    }) if path.is_ident("parallel") => {
                        quote!(Parallel)
                    }
                    Expr::Path(ExprPath {
                        path, qself: None, ..
                    }) if path.is_ident("single") => {
                        quote!(Single)
                    }
                    _ => return Err(syn::Error::new_spanned(expr, format!("expected {how}"))),
                };
                settings.mode =
                    quote!(::core::option::Option::Some(::parproc_guest::__rt::Mode::#mode));
            }
            "separator" => {
                let sep = syntax::string(entry.expr("separator = \"::\"")?, "`separator`")?;
                if sep.value().is_empty() {
                    return Err(syn::Error::new(sep.span(), "`separator` cannot be empty"));
                }
                settings.separator = quote!(::core::option::Option::Some(#sep));
                settings.separator_text = sep.value();
            }
            "allow_missing_deps" => {
                let how = "allow_missing_deps = true/false";
                let flag = match syntax::literal(entry.expr(how)?) {
                    Some(Ok(syntax::Value::Boolean(flag))) => flag,
                    _ => {
                        return Err(entry.error(format!("`allow_missing_deps` is written `{how}`")));
                    }
                };
                settings.allow_missing_deps = quote!(::core::option::Option::Some(#flag));
                settings.denies_missing_deps = !flag;
            }
            "params" => {
                let list = entry.list("params(name = value, ...)")?;
                syntax::check_unique(&list)?;
                let mut params = Vec::new();
                for param in &list {
                    let name = param.name();
                    let value = param.expr("params(name = value)")?;
                    let json =
                        quote_spanned!(value.span()=> ::parproc_guest::__rt::param_json(&(#value)));
                    params.push(quote!((#name, || #json)));
                }
                settings.params = quote!(&[#(#params),*]);
            }
            "task_db" | "task_db_path" => {
                // A module only asks; the user chooses the store (`--state-dir`,
                // `--incremental`), so a path given here is not used.
                if !matches!(entry.value, syntax::EntryValue::Flag) {
                    entry.expr("task_db")?;
                }
                settings.task_db = quote!(::core::option::Option::Some(true));
            }
            "inputs_ignore" => {
                let globs =
                    syntax::strings(entry.expr("inputs_ignore = [\"/glob\"]")?, "inputs_ignore")?;
                settings.inputs_ignore = quote!(&[#(#globs),*]);
            }
            other => {
                return Err(syn::Error::new(
                    entry.key.span(),
                    suggest::unknown("setting", other, "for `export_jobs!`", SETTINGS),
                ));
            }
        }
    }
    Ok(settings)
}

/// Expands `export_jobs!`.
pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let module: Module = syn::parse2(input.clone())?;
    if module.jobs.is_empty() {
        return Err(syn::Error::new_spanned(
            input,
            "`export_jobs!` needs the job functions first: `export_jobs!(setup, build; ...)`",
        ));
    }
    let Settings {
        targets,
        target_names,
        separator_text,
        denies_missing_deps,
        parallel,
        mode,
        separator,
        allow_missing_deps,
        params,
        task_db,
        inputs_ignore,
    } = settings(&module.settings)?;
    let specs: Vec<TokenStream> = module
        .jobs
        .iter()
        .map(|job| quote_spanned!(job.span()=> <#job as ::parproc_guest::__rt::Job>::SPEC))
        .collect();
    // Each default target must name a job: a build error, not a run that
    // fails to start.
    // With missing deps denied, a dep that names no job can never run.
    let dep_checks = match denies_missing_deps {
        true => specs
            .iter()
            .map(|spec| {
                quote_spanned!(spec.span()=>
                    const _: () = if let ::core::option::Option::Some(i) =
                        ::parproc_guest::__rt::first_missing_dep(
                            #spec.deps,
                            &[#(#specs.name),*],
                            #separator_text,
                        )
                    {
                        ::core::panic!("{}", #spec.dep_errors[i])
                    };
                )
            })
            .collect(),
        false => Vec::new(),
    };
    let target_checks = target_names.iter().map(|t| {
        let message = format!(
            "the default target `{}` names no proc or proto passed to `export_jobs!`: pass the \
             job it names, or fix or drop the target",
            t.value()
        );
        quote_spanned!(t.span()=>
            const _: () = ::core::assert!(
                ::parproc_guest::__rt::names_a_job(#t, &[#(#specs.name),*], #separator_text),
                #message
            );
        )
    });
    Ok(quote! {
        #(#target_checks)*
        #(#dep_checks)*

        /// The type that implements this module's exports (generated by `export_jobs!`).
        #[doc(hidden)]
        #[allow(dead_code, reason = "only used through its trait impls")]
        pub(crate) struct __ParprocJobs;

        const _: () = {
            const _: () = ::parproc_guest::__rt::check_unique_names(&[#(#specs.name),*]);

            static MODULE: ::parproc_guest::__rt::ModuleSpec = ::parproc_guest::__rt::ModuleSpec {
                jobs: &[#(&#specs),*],
                targets: #targets,
                parallel: #parallel,
                mode: #mode,
                separator: #separator,
                allow_missing_deps: #allow_missing_deps,
                params: #params,
                task_db: #task_db,
                inputs_ignore: #inputs_ignore,
            };

            impl ::parproc_guest::__rt::declarations::Guest for __ParprocJobs {
                fn describe() -> ::parproc_guest::__rt::Manifest {
                    ::parproc_guest::__rt::describe(&MODULE)
                }

                fn resolve_deps(
                    decl: ::std::string::String,
                    index: u32,
                    ctx: ::parproc_guest::__rt::declarations::DepContext,
                ) -> ::core::result::Result<::std::vec::Vec<::std::string::String>, ::std::string::String> {
                    ::parproc_guest::__rt::resolve_deps(&MODULE, &decl, index, ctx)
                }

                fn resolve_choices(
                    decl: ::std::string::String,
                    param: ::core::option::Option<::std::string::String>,
                    ctx: ::parproc_guest::__rt::declarations::DepContext,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<(::std::string::String, ::std::vec::Vec<::parproc_guest::Value>)>,
                    ::std::string::String,
                > {
                    ::parproc_guest::__rt::resolve_choices(&MODULE, &decl, param.as_deref(), ctx)
                }

                fn resolve_inputs(
                    decl: ::std::string::String,
                    index: u32,
                    ctx: ::parproc_guest::__rt::declarations::DepContext,
                ) -> ::core::result::Result<::std::vec::Vec<::std::string::String>, ::std::string::String> {
                    ::parproc_guest::__rt::resolve_inputs(&MODULE, &decl, index, ctx)
                }
            }

            impl ::parproc_guest::__rt::procs::Guest for __ParprocJobs {
                fn run(
                    decl: ::std::string::String,
                    proc_name: ::std::string::String,
                    args: ::std::vec::Vec<::parproc_guest::Arg>,
                ) -> ::core::result::Result<::std::string::String, ::parproc_guest::__rt::ProcError> {
                    ::parproc_guest::__rt::run(&MODULE, &decl, proc_name, args)
                }
            }

            ::parproc_guest::bindings::export!(__ParprocJobs with_types_in ::parproc_guest::bindings);
        };
    })
}
