//! `#[proc]` and `#[proto]`: check the function against its options, then emit the job's
//! static description next to the function.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::{Expr, Ident, ItemFn};

use crate::name;
use crate::options::{Choice, Choices, JobOptions, Kind};
use crate::signature::{self, Param, Signature};
use crate::spec::{Spec, computed};
use crate::syntax::Value;

/// Expands `#[proc(...)]` / `#[proto(...)]` on `item`.
pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function: ItemFn = syn::parse2(item)?;
    let options = JobOptions::parse(kind, attr)?;
    let mut signature = signature::check_signature(&function)?;

    let fn_ident = &function.sig.ident;
    let (name, name_span) = match &options.name {
        Some(lit) => (lit.value(), lit.span()),
        None => (fn_ident.unraw().to_string(), fn_ident.span()),
    };
    let placeholders = check_name(kind, &name, name_span)?;
    strip_underscores(&mut signature, &placeholders, &options);
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

/// A parameter `_env` stands for the argument `env` when there is no `_env` (the underscore
/// only silences the unused-variable lint).
fn strip_underscores(signature: &mut Signature, placeholders: &[String], options: &JobOptions) {
    let known = |name: &str| {
        placeholders.iter().any(|p| p == name)
            || options.args.iter().any(|(key, _, _)| key.unraw() == name)
    };
    for param in &mut signature.params {
        if known(&param.name) {
            continue;
        }
        if let Some(stripped) = param.name.strip_prefix('_')
            && known(stripped)
        {
            param.name = stripped.to_owned();
        }
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
                format!(
                    "placeholder `[{placeholder}]` in `{name}` has no parameter named `{placeholder}`"
                ),
            ));
        }
    }
    for param in &signature.params {
        let in_args = options
            .args
            .iter()
            .any(|(key, _, _)| key.unraw() == param.name);
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
            signature::type_text(&param.ty)
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
            let f = computed(expr, "choice_map_fn");
            Ok(quote!(::parproc_guest::__rt::ChoicesSpec::Computed(#f)))
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
                        format!(
                            "`choices` key `{key_name}` is not a placeholder of `{name}`; {known}"
                        ),
                    ));
                }
                let source = match choice {
                    Choice::Fixed(values) => {
                        let param = signature.params.iter().find(|p| p.name == key_name);
                        let mut lits = Vec::new();
                        for (expr, value) in values {
                            let value = match param {
                                Some(param) => param.value_type.accept(value).ok_or_else(|| {
                                    mismatch(
                                        expr,
                                        &format!("a choice for `{key_name}`"),
                                        value,
                                        param,
                                    )
                                })?,
                                None => value.clone(),
                            };
                            lits.push(value.to_lit_tokens());
                        }
                        quote!(::parproc_guest::__rt::ChoiceSpec::Fixed(&[#(#lits),*]))
                    }
                    Choice::Computed(expr) => {
                        let f = computed(expr, "choices_fn");
                        quote!(::parproc_guest::__rt::ChoiceSpec::Computed(#f))
                    }
                };
                entries.push(quote!((#key_name, #source)));
            }
            Ok(quote!(::parproc_guest::__rt::ChoicesSpec::PerParam(&[#(#entries),*])))
        }
    }
}
