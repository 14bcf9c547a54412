//! Text folding for matching names across spellings: "Téra", "TERA" and
//! "tera" fold to the same key, as do "Tillabéri" and "Tillaberi".

/// Fold a string to a search key: transliterate to ASCII (so accents and
/// other scripts are removed), lower-case, turn every non-alphanumeric run
/// into one space, and trim.
pub fn fold(s: &str) -> String {
    let ascii = if s.is_ascii() {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(deunicode::deunicode(s))
    };
    let mut out = String::with_capacity(ascii.len());
    let mut pending_space = false;
    for ch in ascii.chars() {
        if ch.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(ch.to_ascii_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// [`fold`], with a map back to the source: `map[i]` is the byte offset in
/// `s` of the character that produced byte `i` of the folded string, and
/// `map[folded.len()]` is `s.len()`. A match at `a..b` in the folded text
/// covers `map[a]..end` of the source, where `end` is the end of the source
/// character that produced byte `b - 1` ([`source_span`]).
pub fn fold_mapped(s: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len() + 1);
    let mut pending_space = false;
    for (at, ch) in s.char_indices() {
        let mut buf = [0u8; 4];
        let ascii: &str = if ch.is_ascii() {
            ch.encode_utf8(&mut buf)
        } else {
            deunicode::deunicode_char(ch).unwrap_or("")
        };
        for c in ascii.chars() {
            if c.is_ascii_alphanumeric() {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                    map.push(at);
                }
                pending_space = false;
                out.push(c.to_ascii_lowercase());
                map.push(at);
            } else {
                pending_space = true;
            }
        }
    }
    map.push(s.len());
    (out, map)
}

/// The source byte range of folded bytes `a..b` ([`fold_mapped`]).
pub fn source_span(s: &str, map: &[usize], a: usize, b: usize) -> std::ops::Range<usize> {
    let start = map[a];
    let last = map[b.saturating_sub(1).max(a)];
    let end = s[last..]
        .chars()
        .next()
        .map_or(s.len(), |c| last + c.len_utf8());
    start..end.max(start)
}

/// True when every word of `needle` (already folded) occurs, in order, as a
/// substring of `haystack` (already folded). Used for free-text filters.
pub fn contains_folded(haystack: &str, needle: &str) -> bool {
    needle.is_empty() || haystack.contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_case_and_punctuation() {
        assert_eq!(fold("Téra"), "tera");
        assert_eq!(fold("  TILLABÉRI "), "tillaberi");
        assert_eq!(fold("Jama'at Nusrat al-Islam"), "jama at nusrat al islam");
        assert_eq!(fold("Ségou/Mopti"), "segou mopti");
        assert_eq!(fold("---"), "");
    }

    #[test]
    fn mapped_folding_agrees_with_fold_and_maps_back() {
        for s in [
            "Téra",
            "  TILLABÉRI ",
            "Jama'at Nusrat al-Islam",
            "près de Téra, à l'est",
            "Ouahigouya (Yatenga)",
            "",
        ] {
            let (f, map) = fold_mapped(s);
            assert_eq!(f, fold(s), "{s}");
            assert_eq!(map.len(), f.len() + 1);
        }
        let s = "Attaque près de Téra, Tillabéri.";
        let (f, map) = fold_mapped(s);
        let a = f.find("tera").unwrap();
        assert_eq!(&s[source_span(s, &map, a, a + 4)], "Téra");
        let a = f.find("tillaberi").unwrap();
        assert_eq!(&s[source_span(s, &map, a, a + 9)], "Tillabéri");
    }
}
