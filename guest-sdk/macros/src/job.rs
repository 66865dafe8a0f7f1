//! `#[proc]` and `#[proto]`: check the function against its options, then emit the job's
//! static description next to the function.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, FnArg, GenericParam, Ident, ItemFn, Lit, LitStr, Meta, Pat, PatIdent,
    ReturnType, Type, TypePath,
};

use crate::name;
use crate::options::{Choice, Choices, Dep, JobOptions, Kind, Rdep};
use crate::syntax::Value;

/// The WIT type of a parameter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueType {
    Text,
    Integer,
    Float,
    Boolean,
}

impl ValueType {
    fn tokens(self) -> TokenStream {
        match self {
            ValueType::Text => quote!(::parproc_guest::ValueType::Text),
            ValueType::Integer => quote!(::parproc_guest::ValueType::Integer),
            ValueType::Float => quote!(::parproc_guest::ValueType::Float),
            ValueType::Boolean => quote!(::parproc_guest::ValueType::Boolean),
        }
    }

    /// Whether a literal of this kind can be the value of a parameter of this type, and the
    /// literal to declare (an integer literal widens to a float for a float parameter).
    fn accept(self, value: &Value) -> Option<Value> {
        match (self, value) {
            (ValueType::Text, Value::Text(_))
            | (ValueType::Integer, Value::Integer(_))
            | (ValueType::Float, Value::Float(_))
            | (ValueType::Boolean, Value::Boolean(_)) => Some(value.clone()),
            // Integer literals are exact in an f64 up to 2^53, far beyond attribute use.
            (ValueType::Float, Value::Integer(n)) => Some(Value::Float(*n as f64)),
            _ => None,
        }
    }
}

/// A parameter of the job function besides the context.
struct Param {
    ident: Ident,
    name: String,
    ty: Type,
    value_type: ValueType,
}

/// What the function's signature says.
struct Signature {
    takes_context: bool,
    params: Vec<Param>,
}

/// Expands `#[proc(...)]` / `#[proto(...)]` on `item`.
pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function: ItemFn = syn::parse2(item)?;
    let options = JobOptions::parse(kind, attr)?;
    let signature = check_signature(&function)?;

    let fn_ident = &function.sig.ident;
    let (name, name_span) = match &options.name {
        Some(lit) => (lit.value(), lit.span()),
        None => (fn_ident.unraw().to_string(), fn_ident.span()),
    };
    let placeholders = check_name(kind, &name, name_span)?;
    check_params(kind, &name, name_span, &placeholders, &signature, &options)?;
    let defaults = check_defaults(kind, fn_ident, &signature, &options)?;
    let choices = choices_tokens(&name, &placeholders, &signature, &options)?;

    let spec = Spec {
        kind,
        name: &name,
        function: &function,
        signature: &signature,
        options: &options,
        defaults,
        choices,
    };
    let spec = spec.tokens();
    let vis = &function.vis;
    Ok(quote! {
        #function

        #[doc(hidden)]
        #[allow(
            non_camel_case_types,
            dead_code,
            reason = "the job's twin in the type namespace, named after its function for `export_jobs!`"
        )]
        #vis struct #fn_ident {}

        impl ::parproc_guest::__rt::Job for #fn_ident {
            const SPEC: ::parproc_guest::__rt::JobSpec = #spec;
        }
    })
}

fn check_signature(function: &ItemFn) -> syn::Result<Signature> {
    let sig = &function.sig;
    if let Some(token) = &sig.asyncness {
        return Err(syn::Error::new_spanned(token, "a job function cannot be `async`"));
    }
    if let Some(token) = &sig.unsafety {
        return Err(syn::Error::new_spanned(token, "a job function cannot be `unsafe`"));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(variadic, "a job function cannot be variadic"));
    }
    for param in &sig.generics.params {
        if !matches!(param, GenericParam::Lifetime(_)) {
            return Err(syn::Error::new_spanned(
                param,
                "a job function cannot be generic: the host calls it with concrete types",
            ));
        }
    }
    check_return_type(&sig.output)?;

    let mut takes_context = false;
    let mut params = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        let typed = match input {
            FnArg::Receiver(receiver) => {
                return Err(syn::Error::new_spanned(
                    receiver,
                    "a job function cannot take `self`; write a free function",
                ));
            }
            FnArg::Typed(typed) => typed,
        };
        if let Type::Reference(reference) = typed.ty.as_ref() {
            let is_context = last_segment(&reference.elem).is_some_and(|s| s == "Context");
            if index == 0 && is_context && reference.mutability.is_none() {
                takes_context = true;
                continue;
            }
            let message = if is_context {
                "the context is the first parameter, taken as `&Context`".to_owned()
            } else {
                unsupported_type(&typed.ty)
            };
            return Err(syn::Error::new_spanned(&typed.ty, message));
        }
        let Pat::Ident(PatIdent {
            ident,
            by_ref: None,
            subpat: None,
            ..
        }) = typed.pat.as_ref()
        else {
            return Err(syn::Error::new_spanned(
                &typed.pat,
                "a job parameter must be a plain name, like `env: String`: the name is \
                 the argument it receives",
            ));
        };
        let value_type = value_type(&typed.ty)
            .ok_or_else(|| syn::Error::new_spanned(&typed.ty, unsupported_type(&typed.ty)))?;
        params.push(Param {
            ident: ident.clone(),
            name: ident.unraw().to_string(),
            ty: typed.ty.as_ref().clone(),
            value_type,
        });
    }
    Ok(Signature {
        takes_context,
        params,
    })
}

fn check_return_type(output: &ReturnType) -> syn::Result<()> {
    let ReturnType::Type(_, ty) = output else {
        return Ok(());
    };
    let ok = match ty.as_ref() {
        Type::Tuple(tuple) => tuple.elems.is_empty(),
        other => last_segment(other).is_some_and(|s| s == "Result"),
    };
    if ok {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            ty,
            format!(
                "a job function returns `()` or `Result<T, E>` (with `T: serde::Serialize` and \
                 `E: Into<parproc_guest::Error>`), not `{}`",
                type_text(ty)
            ),
        ))
    }
}

fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(TypePath { qself: None, path }) => {
            path.segments.last().map(|s| s.ident.to_string())
        }
        Type::Group(group) => last_segment(&group.elem),
        Type::Paren(paren) => last_segment(&paren.elem),
        _ => None,
    }
}

fn value_type(ty: &Type) -> Option<ValueType> {
    let Type::Path(TypePath { qself: None, path }) = ty else {
        return match ty {
            Type::Group(group) => value_type(&group.elem),
            _ => None,
        };
    };
    let last = path.segments.last()?;
    if !last.arguments.is_none() {
        return None;
    }
    Some(match last.ident.to_string().as_str() {
        "String" => ValueType::Text,
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64"
        | "u128" | "usize" => ValueType::Integer,
        "f32" | "f64" => ValueType::Float,
        "bool" => ValueType::Boolean,
        _ => return None,
    })
}

fn type_text(ty: &Type) -> String {
    quote!(#ty).to_string().replace(" < ", "<").replace(" >", ">").replace("& ", "&")
}

fn unsupported_type(ty: &Type) -> String {
    format!(
        "unsupported parameter type `{}`: a job parameter is `String`, an integer type \
         (`i64`, `i32`, `u32`, `usize`, ...), `f64`/`f32` or `bool`",
        type_text(ty)
    )
}

/// Checks the name and returns its placeholders.
fn check_name(kind: Kind, name: &str, span: Span) -> syn::Result<Vec<String>> {
    if name.is_empty() {
        return Err(syn::Error::new(span, "a job name cannot be empty"));
    }
    match kind {
        Kind::Proc => {
            if name.contains('[') || name.contains(']') {
                let detail = match name::placeholders(name) {
                    Ok(found) if !found.is_empty() => {
                        format!("contains the placeholder `[{}]`", found[0])
                    }
                    _ => "contains `[`/`]`".to_owned(),
                };
                return Err(syn::Error::new(
                    span,
                    format!(
                        "`#[proc]` name `{name}` {detail}; proc names are fully resolved, \
                         use `#[proto]` for a template"
                    ),
                ));
            }
            Ok(Vec::new())
        }
        Kind::Proto => name::placeholders(name).map_err(|why| syn::Error::new(span, why)),
    }
}

fn check_params(
    kind: Kind,
    name: &str,
    name_span: Span,
    placeholders: &[String],
    signature: &Signature,
    options: &JobOptions,
) -> syn::Result<()> {
    for placeholder in placeholders {
        if !signature.params.iter().any(|p| &p.name == placeholder) {
            return Err(syn::Error::new(
                name_span,
                format!("placeholder `[{placeholder}]` in `{name}` has no parameter named `{placeholder}`"),
            ));
        }
    }
    for param in &signature.params {
        let in_args = options.args.iter().any(|(key, _, _)| key.unraw() == param.name);
        if in_args || placeholders.contains(&param.name) {
            continue;
        }
        let message = match kind {
            Kind::Proto => format!(
                "parameter `{}` is neither a placeholder of `{name}` nor in `args(...)`",
                param.name
            ),
            Kind::Proc => format!(
                "parameter `{0}` is not in `args(...)`; a `#[proc]` takes its arguments from \
                 `args({0} = ...)`",
                param.name
            ),
        };
        return Err(syn::Error::new(param.ident.span(), message));
    }
    Ok(())
}

/// `args(...)` as `(name, Lit)` tokens, checked against the parameter types.
fn check_defaults(
    kind: Kind,
    fn_ident: &Ident,
    signature: &Signature,
    options: &JobOptions,
) -> syn::Result<Vec<TokenStream>> {
    let mut defaults = Vec::new();
    for (key, expr, value) in &options.args {
        let key_name = key.unraw().to_string();
        let value = match signature.params.iter().find(|p| p.name == key_name) {
            Some(param) => param.value_type.accept(value).ok_or_else(|| {
                mismatch(expr, &format!("the default of `{key_name}`"), value, param)
            })?,
            None if kind == Kind::Proc => {
                return Err(syn::Error::new(
                    key.span(),
                    format!("`args(...)` entry `{key_name}` is not a parameter of `{fn_ident}`"),
                ));
            }
            // A proto's extra args only feed dep resolution (as in parproc).
            None => value.clone(),
        };
        let lit = value.to_lit_tokens();
        defaults.push(quote!((#key_name, #lit)));
    }
    Ok(defaults)
}

fn mismatch(expr: &Expr, what: &str, value: &Value, param: &Param) -> syn::Error {
    syn::Error::new_spanned(
        expr,
        format!(
            "{what} is {}, but parameter `{}` is `{}`",
            value.kind(),
            param.name,
            type_text(&param.ty)
        ),
    )
}

fn choices_tokens(
    name: &str,
    placeholders: &[String],
    signature: &Signature,
    options: &JobOptions,
) -> syn::Result<TokenStream> {
    match &options.choices {
        Choices::None => Ok(quote!(::parproc_guest::__rt::ChoicesSpec::PerParam(&[]))),
        Choices::Computed(expr) => {
            let f = quote_spanned!(expr.span()=> ::parproc_guest::__rt::choice_map_fn(#expr));
            Ok(quote! {
                ::parproc_guest::__rt::ChoicesSpec::Computed(|__parproc_ctx| {
                    ::parproc_guest::__rt::into_choice_map((#f)(__parproc_ctx))
                })
            })
        }
        Choices::PerParam(list) => {
            let mut entries = Vec::new();
            for (key, choice) in list {
                let key_name = key.unraw().to_string();
                if !placeholders.contains(&key_name) {
                    let known = if placeholders.is_empty() {
                        format!("`{name}` has no placeholders")
                    } else {
                        format!("its placeholders: {}", name::list(placeholders))
                    };
                    return Err(syn::Error::new(
                        key.span(),
                        format!("`choices` key `{key_name}` is not a placeholder of `{name}`; {known}"),
                    ));
                }
                let source = match choice {
                    Choice::Fixed(values) => {
                        let param = signature.params.iter().find(|p| p.name == key_name);
                        let mut lits = Vec::new();
                        for (expr, value) in values {
                            let value = match param {
                                Some(param) => param.value_type.accept(value).ok_or_else(|| {
                                    mismatch(expr, &format!("a choice for `{key_name}`"), value, param)
                                })?,
                                None => value.clone(),
                            };
                            lits.push(value.to_lit_tokens());
                        }
                        quote!(::parproc_guest::__rt::ChoiceSpec::Fixed(&[#(#lits),*]))
                    }
                    Choice::Computed(expr) => {
                        let f = quote_spanned!(expr.span()=> ::parproc_guest::__rt::choices_fn(#expr));
                        quote! {
                            ::parproc_guest::__rt::ChoiceSpec::Computed(|__parproc_ctx| {
                                ::parproc_guest::__rt::into_choices((#f)(__parproc_ctx))
                            })
                        }
                    }
                };
                entries.push(quote!((#key_name, #source)));
            }
            Ok(quote!(::parproc_guest::__rt::ChoicesSpec::PerParam(&[#(#entries),*])))
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

struct Spec<'a> {
    kind: Kind,
    name: &'a str,
    function: &'a ItemFn,
    signature: &'a Signature,
    options: &'a JobOptions,
    defaults: Vec<TokenStream>,
    choices: TokenStream,
}

impl Spec<'_> {
    fn tokens(&self) -> TokenStream {
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
                let f = quote_spanned!(expr.span()=> ::parproc_guest::__rt::dep_fn(#expr));
                quote! {
                    ::parproc_guest::__rt::DepSpec::Computed(|__parproc_ctx| {
                        ::parproc_guest::__rt::into_deps((#f)(__parproc_ctx))
                    })
                }
            }
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
        let dirs = options.needs.dirs.iter().map(|(path, rw)| quote!((#path, #rw)));
        let env = &options.needs.env;
        let network = &options.needs.network;
        let input = options.needs.input;
        let description = options
            .description
            .as_ref()
            .map_or_else(|| doc_summary(self.function), LitStr::value);
        let run = self.run_tokens();
        quote! {
            ::parproc_guest::__rt::JobSpec {
                kind: #kind,
                name: #name,
                params: &[#(#params),*],
                defaults: &[#(#defaults),*],
                deps: &[#(#deps),*],
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
                },
                description: #description,
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
        let conversions = self.signature.params.iter().zip(&locals).map(|(param, local)| {
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
