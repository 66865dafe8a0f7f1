//! The small grammar shared by the attributes and `export_jobs!`: `key`, `key = expr` and
//! `key(...)` entries, and the literals they contain.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Token, UnOp, token};

/// One entry of an option list.
pub(crate) struct Entry {
    /// The key.
    pub(crate) key: Ident,
    /// What follows it.
    pub(crate) value: EntryValue,
}

/// What follows an entry's key.
pub(crate) enum EntryValue {
    /// Nothing: a flag (`now`).
    Flag,
    /// `= expr`.
    Expr(Expr),
    /// `( ... )`, parsed later by the entry's owner.
    List(token::Paren, TokenStream),
}

impl Parse for Entry {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = input.call(Ident::parse_any)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            EntryValue::Expr(input.parse()?)
        } else if input.peek(token::Paren) {
            let content;
            let paren = syn::parenthesized!(content in input);
            EntryValue::List(paren, content.parse()?)
        } else {
            EntryValue::Flag
        };
        Ok(Self { key, value })
    }
}

impl Entry {
    /// The key as written, without `r#`.
    pub(crate) fn name(&self) -> String {
        self.key.unraw().to_string()
    }

    /// An error covering the whole entry.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        let mut tokens = self.key.to_token_stream();
        match &self.value {
            EntryValue::Flag => {}
            EntryValue::Expr(expr) => expr.to_tokens(&mut tokens),
            EntryValue::List(paren, inner) => {
                paren.surround(&mut tokens, |t| t.extend(inner.clone()));
            }
        }
        syn::Error::new_spanned(tokens, message)
    }

    /// The value of `key = expr`, or an error saying how to write it.
    pub(crate) fn expr(&self, how: &str) -> syn::Result<&Expr> {
        match &self.value {
            EntryValue::Expr(expr) => Ok(expr),
            _ => Err(self.error(format!("`{}` is written `{how}`", self.name()))),
        }
    }

    /// The entries of `key(...)`, or an error saying how to write it.
    pub(crate) fn list(&self, how: &str) -> syn::Result<Vec<Entry>> {
        match &self.value {
            EntryValue::List(_, tokens) => {
                Ok(entries.parse2(tokens.clone())?.into_iter().collect())
            }
            _ => Err(self.error(format!("`{}` is written `{how}`", self.name()))),
        }
    }

    /// `key` alone (true) or `key = true/false`.
    pub(crate) fn flag(&self) -> syn::Result<bool> {
        match &self.value {
            EntryValue::Flag => Ok(true),
            EntryValue::Expr(Expr::Lit(ExprLit {
                lit: Lit::Bool(flag),
                ..
            })) => Ok(flag.value),
            _ => Err(self.error(format_args!(
                "`{0}` is a flag: write `{0}` or `{0} = true`/`{0} = false`",
                self.name()
            ))),
        }
    }
}

/// A comma-separated list of entries.
pub(crate) fn entries(input: ParseStream<'_>) -> syn::Result<Punctuated<Entry, Token![,]>> {
    Punctuated::parse_terminated(input)
}

/// Rejects an entry given twice.
pub(crate) fn check_unique(list: &[Entry]) -> syn::Result<()> {
    for (i, entry) in list.iter().enumerate() {
        if list[..i]
            .iter()
            .any(|earlier| earlier.name() == entry.name())
        {
            return Err(syn::Error::new(
                entry.key.span(),
                format!("`{}` is given more than once", entry.name()),
            ));
        }
    }
    Ok(())
}

/// A literal value written in an attribute.
#[derive(Clone)]
pub(crate) enum Value {
    Text(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

impl Value {
    /// `a string`, `an integer`, ... for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Text(_) => "a string",
            Value::Integer(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Boolean(_) => "a boolean",
        }
    }

    /// `::parproc_guest::__rt::Lit::...`.
    pub(crate) fn to_lit_tokens(&self) -> TokenStream {
        match self {
            Value::Text(text) => quote::quote!(::parproc_guest::__rt::Lit::Text(#text)),
            Value::Integer(n) => quote::quote!(::parproc_guest::__rt::Lit::Integer(#n)),
            Value::Float(x) => {
                let x = float_tokens(*x);
                quote::quote!(::parproc_guest::__rt::Lit::Float(#x))
            }
            Value::Boolean(flag) => quote::quote!(::parproc_guest::__rt::Lit::Boolean(#flag)),
        }
    }
}

/// An `f64` literal token that round-trips exactly.
fn float_tokens(x: f64) -> TokenStream {
    let text = format!("{x:?}f64");
    text.parse().unwrap_or_else(|_| x.to_token_stream())
}

/// A string, integer, float or boolean literal (numbers may be negated).
pub(crate) fn literal(expr: &Expr) -> Option<syn::Result<Value>> {
    match expr {
        Expr::Lit(ExprLit { lit, .. }) => match lit {
            Lit::Str(s) => Some(Ok(Value::Text(s.value()))),
            Lit::Bool(b) => Some(Ok(Value::Boolean(b.value))),
            Lit::Int(i) => Some(i.base10_parse::<i64>().map(Value::Integer)),
            Lit::Float(f) => Some(f.base10_parse::<f64>().map(Value::Float)),
            _ => None,
        },
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr: inner,
            ..
        }) => match inner.as_ref() {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => Some(
                i.base10_parse::<i128>()
                    .and_then(|n| {
                        i64::try_from(-n).map_err(|_| {
                            syn::Error::new(i.span(), "integer literal out of range for `i64`")
                        })
                    })
                    .map(Value::Integer),
            ),
            Expr::Lit(ExprLit {
                lit: Lit::Float(f), ..
            }) => Some(f.base10_parse::<f64>().map(|x| Value::Float(-x))),
            _ => None,
        },
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

/// A literal value, or an error naming what was expected.
pub(crate) fn require_literal(expr: &Expr, what: &str) -> syn::Result<Value> {
    literal(expr).unwrap_or_else(|| {
        Err(syn::Error::new_spanned(
            expr,
            format!("{what} must be a literal (a string, a number or `true`/`false`)"),
        ))
    })
}

/// An integer literal (possibly negated) in range for `T`.
pub(crate) fn integer<T: TryFrom<i64>>(expr: &Expr, what: &str) -> syn::Result<T> {
    match literal(expr) {
        Some(Ok(Value::Integer(n))) => T::try_from(n)
            .map_err(|_| syn::Error::new_spanned(expr, format!("{what} `{n}` is out of range"))),
        Some(Err(e)) => Err(e),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("{what} must be an integer literal"),
        )),
    }
}

/// A string literal.
pub(crate) fn string(expr: &Expr, what: &str) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        Expr::Group(group) => string(&group.expr, what),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("{what} must be a string literal"),
        )),
    }
}

/// The elements of `[...]`.
pub(crate) fn array<'a>(expr: &'a Expr, how: &str) -> syn::Result<Vec<&'a Expr>> {
    match expr {
        Expr::Array(array) => Ok(array.elems.iter().collect()),
        Expr::Group(group) => array(&group.expr, how),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("expected a list: {how}"),
        )),
    }
}

/// `["a", "b"]`.
pub(crate) fn strings(expr: &Expr, what: &str) -> syn::Result<Vec<LitStr>> {
    array(expr, &format!("`{what} = [\"...\", ...]`"))?
        .into_iter()
        .map(|e| string(e, &format!("each entry of `{what}`")))
        .collect()
}
