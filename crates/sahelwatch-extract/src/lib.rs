//! What a report's text says, found with the exact span it came from and a
//! confidence: its language ([`lang`]), dates and times resolved against the
//! publication date ([`dates`]), and actors from a curated dictionary with
//! English and French aliases ([`actors`]), and places resolved to gazetteer
//! entries, or road segments between two of them ([`places`]).
//!
//! Pure: no I/O, no clock (the publication date is an argument), no threads.

pub mod actors;
pub mod dates;
pub mod events;
pub mod lang;
pub mod places;
pub mod report;

use serde::Serialize;

/// A byte range of the source text, and the text itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

impl Span {
    pub fn of(source: &str, range: std::ops::Range<usize>) -> Span {
        Span {
            text: source[range.clone()].to_string(),
            start: range.start,
            end: range.end,
        }
    }
}

/// One thing found in a text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found<T> {
    pub value: T,
    pub span: Span,
    /// 0..1: how sure the extractor is of the value (not of the source).
    pub confidence: f32,
}

/// Keep the longest of overlapping finds (the first one on a tie), in text order.
pub(crate) fn without_overlaps<T>(mut found: Vec<Found<T>>) -> Vec<Found<T>> {
    found.sort_by(|a, b| {
        a.span
            .start
            .cmp(&b.span.start)
            .then((b.span.end - b.span.start).cmp(&(a.span.end - a.span.start)))
    });
    let mut out: Vec<Found<T>> = Vec::with_capacity(found.len());
    for f in found {
        match out.last() {
            Some(last) if f.span.start < last.span.end => {
                let (len, last_len) = (f.span.end - f.span.start, last.span.end - last.span.start);
                if len > last_len {
                    out.pop();
                    out.push(f);
                }
            }
            _ => out.push(f),
        }
    }
    out
}
