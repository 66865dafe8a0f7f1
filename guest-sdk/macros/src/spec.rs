//! The tokens of a job's `JobSpec`: plain data plus the run wrapper.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, ItemFn, Lit, LitStr, Meta, ReturnType};

use crate::options::{Dep, Input, JobOptions, Kind, Rdep};
use crate::signature::Signature;

/// A function pointer calling the user's computed dep/choices expression through the
/// checking wrapper `wrapper` (spanned at the expression, so type errors point at it).
pub(crate) fn computed(expr: &Expr, wrapper: &str) -> TokenStream {
    let wrapper = Ident::new(wrapper, expr.span());
    quote_spanned! {expr.span()=>
        |__parproc_ctx: &::parproc_guest::DepContext| {
            (::parproc_guest::__rt::#wrapper(#expr))(__parproc_ctx)
        }
    }
}

/// The first line of the function's `///` docs.
fn doc_summary(function: &ItemFn) -> String {
    function
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) => Some(text.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|text| text.lines().map(str::to_owned).collect::<Vec<_>>())
        .map(|line| line.trim().to_owned())
        .find(|line| !line.is_empty())
        .unwrap_or_default()
}

/// Everything a job's `JobSpec` is made of, checked.
pub(crate) struct Spec<'a> {
    pub(crate) kind: Kind,
    pub(crate) name: &'a str,
    pub(crate) function: &'a ItemFn,
    pub(crate) signature: &'a Signature,
    pub(crate) options: &'a JobOptions,
    pub(crate) defaults: Vec<TokenStream>,
    pub(crate) choices: TokenStream,
}

impl Spec<'_> {
    /// The `JobSpec` expression.
    pub(crate) fn tokens(&self) -> TokenStream {
        let options = self.options;
        let kind = match self.kind {
            Kind::Proc => quote!(::parproc_guest::__rt::DeclKind::Proc),
            Kind::Proto => quote!(::parproc_guest::__rt::DeclKind::Proto),
        };
        let name = self.name;
        let params = self.signature.params.iter().map(|p| {
            let name = &p.name;
            let ty = p.value_type.tokens();
            quote!((#name, #ty))
        });
        let defaults = &self.defaults;
        let deps = options.deps.iter().map(|dep| match dep {
            Dep::Name(name) => quote!(::parproc_guest::__rt::DepSpec::Name(#name)),
            Dep::NoFailures => quote!(::parproc_guest::__rt::DepSpec::NoFailures),
            Dep::Computed(expr) => {
                let f = computed(expr, "dep_fn");
                quote!(::parproc_guest::__rt::DepSpec::Computed(#f))
            }
        });
        // What the build says when the module denies missing deps and a dep
        // names nothing (see `export_jobs!`), one per dep.
        let dep_errors = options.deps.iter().map(|dep| match dep {
            Dep::Name(d) => format!(
                "the dep `{}` of `{name}` names no proc or proto passed to `export_jobs!`, \
                 and the module sets `allow_missing_deps = false`: pass the job it names, or \
                 fix the dep",
                d.value()
            ),
            _ => String::new(),
        });
        let rdeps = options.rdeps.iter().map(|rdep| match rdep {
            Rdep::Plain(p) => quote!(::parproc_guest::__rt::RdepSpec::Plain(#p)),
            Rdep::WhenScheduled(p) => quote!(::parproc_guest::__rt::RdepSpec::WhenScheduled(#p)),
            Rdep::WhenTargetScheduled(p) => {
                quote!(::parproc_guest::__rt::RdepSpec::WhenTargetScheduled(#p))
            }
        });
        let locks = &options.locks;
        let now = options.now;
        let wave = options.wave;
        let timeout = option_u64(options.timeout_ms);
        let fuel = option_u64(options.fuel);
        let memory = option_u64(options.memory);
        let choices = &self.choices;
        let log_ignore = &options.log_ignore;
        let log_ignore_if_succeeded = &options.log_ignore_if_succeeded;
        let dirs = options
            .needs
            .dirs
            .iter()
            .map(|(path, rw)| quote!((#path, #rw)));
        let env = &options.needs.env;
        let network = &options.needs.network;
        let input = options.needs.input;
        let tools = &options.needs.tools;
        let http = &options.needs.http;
        let description = options
            .description
            .as_ref()
            .map_or_else(|| doc_summary(self.function), LitStr::value);
        let inputs = options.inputs.iter().map(|input| match input {
            Input::Path(p) => quote!(::parproc_guest::__rt::InputSpec::Path(#p)),
            Input::RegexFiles(root, pattern) => {
                quote!(::parproc_guest::__rt::InputSpec::RegexFiles(#root, #pattern))
            }
            Input::Computed(expr) => {
                let f = computed(expr, "dep_fn");
                quote!(::parproc_guest::__rt::InputSpec::Computed(#f))
            }
        });
        let inputs_ignore = &options.inputs_ignore;
        let outputs = options.outputs.iter().map(|o| {
            let path = &o.path;
            let max_age = match &o.max_age {
                Some(a) => quote!(::core::option::Option::Some(#a)),
                None => quote!(::core::option::Option::None),
            };
            let enforce = o.enforce_freshness;
            quote!(::parproc_guest::__rt::OutputSpec {
                path: #path,
                max_age: #max_age,
                enforce_freshness: #enforce,
            })
        });
        let no_skip = options.no_skip;
        let run = self.run_tokens();
        quote! {
            ::parproc_guest::__rt::JobSpec {
                kind: #kind,
                name: #name,
                params: &[#(#params),*],
                defaults: &[#(#defaults),*],
                deps: &[#(#deps),*],
                dep_errors: &[#(#dep_errors),*],
                rdeps: &[#(#rdeps),*],
                locks: &[#(#locks),*],
                wave: #wave,
                now: #now,
                timeout_ms: #timeout,
                fuel: #fuel,
                memory_bytes: #memory,
                choices: #choices,
                log_ignore: &[#(#log_ignore),*],
                log_ignore_if_succeeded: &[#(#log_ignore_if_succeeded),*],
                needs: ::parproc_guest::__rt::NeedsSpec {
                    dirs: &[#(#dirs),*],
                    env: &[#(#env),*],
                    network: &[#(#network),*],
                    input: #input,
                    tools: &[#(#tools),*],
                    http: &[#(#http),*],
                },
                description: #description,
                inputs: &[#(#inputs),*],
                inputs_ignore: &[#(#inputs_ignore),*],
                outputs: &[#(#outputs),*],
                no_skip: #no_skip,
                run: #run,
            }
        }
    }

    /// A function that converts the args, calls the job function and turns what it returned
    /// into the WIT result.
    fn run_tokens(&self) -> TokenStream {
        let fn_ident = &self.function.sig.ident;
        let ctx = format_ident!("__parproc_ctx");
        let locals: Vec<Ident> = (0..self.signature.params.len())
            .map(|i| format_ident!("__parproc_arg{}", i))
            .collect();
        let conversions = self
            .signature
            .params
            .iter()
            .zip(&locals)
            .map(|(param, local)| {
                let name = &param.name;
                let ty = &param.ty;
                quote_spanned! {ty.span()=>
                    let #local: #ty = ::parproc_guest::__rt::arg::<#ty>(#ctx, #name)?;
                }
            });
        let context_arg = self.signature.takes_context.then(|| quote!(#ctx,));
        let output_span = match &self.function.sig.output {
            ReturnType::Type(_, ty) => ty.span(),
            ReturnType::Default => fn_ident.span(),
        };
        let call = quote!(#fn_ident(#context_arg #(#locals),*));
        let finish = quote_spanned!(output_span=> ::parproc_guest::__rt::finish(#call));
        quote! {{
            fn __parproc_run(
                #ctx: &::parproc_guest::Context,
            ) -> ::core::result::Result<::std::string::String, ::parproc_guest::__rt::ProcError> {
                #(#conversions)*
                #finish
            }
            __parproc_run
        }}
    }
}

fn option_u64(value: Option<u64>) -> TokenStream {
    match value {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    }
}
