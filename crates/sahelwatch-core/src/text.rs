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
}
