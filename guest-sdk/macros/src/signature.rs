//! The job function's signature: the context parameter, the typed parameters and the
//! return type.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::{FnArg, GenericParam, Ident, ItemFn, Pat, PatIdent, ReturnType, Type, TypePath};

use crate::syntax::Value;

/// The WIT type of a parameter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    Text,
    Integer,
    Float,
    Boolean,
}

impl ValueType {
    pub(crate) fn tokens(self) -> TokenStream {
        match self {
            ValueType::Text => quote!(::parproc_guest::ValueType::Text),
            ValueType::Integer => quote!(::parproc_guest::ValueType::Integer),
            ValueType::Float => quote!(::parproc_guest::ValueType::Float),
            ValueType::Boolean => quote!(::parproc_guest::ValueType::Boolean),
        }
    }

    /// Whether a literal of this kind can be the value of a parameter of this type, and the
    /// literal to declare (an integer literal widens to a float for a float parameter).
    pub(crate) fn accept(self, value: &Value) -> Option<Value> {
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
pub(crate) struct Param {
    pub(crate) ident: Ident,
    pub(crate) name: String,
    pub(crate) ty: Type,
    pub(crate) value_type: ValueType,
}

/// What the function's signature says.
pub(crate) struct Signature {
    pub(crate) takes_context: bool,
    pub(crate) params: Vec<Param>,
}

/// Checks the signature and reads its parameters.
pub(crate) fn check_signature(function: &ItemFn) -> syn::Result<Signature> {
    let sig = &function.sig;
    if let Some(token) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            token,
            "a job function cannot be `async`",
        ));
    }
    if let Some(token) = &sig.unsafety {
        return Err(syn::Error::new_spanned(
            token,
            "a job function cannot be `unsafe`",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            "a job function cannot be variadic",
        ));
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
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => ValueType::Integer,
        "f32" | "f64" => ValueType::Float,
        "bool" => ValueType::Boolean,
        _ => return None,
    })
}

/// A type as the user wrote it, for messages.
pub(crate) fn type_text(ty: &Type) -> String {
    quote!(#ty)
        .to_string()
        .replace(" < ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
}

fn unsupported_type(ty: &Type) -> String {
    format!(
        "unsupported parameter type `{}`: a job parameter is `String`, an integer type \
         (`i64`, `i32`, `u32`, `usize`, ...), `f64`/`f32` or `bool`",
        type_text(ty)
    )
}
