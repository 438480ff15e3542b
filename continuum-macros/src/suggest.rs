//! "did you mean …?" for misspelled options and constraints.

/// The closest of `candidates` to `word`, when close enough to be a typo.
pub(crate) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Names other validation libraries use for the same thing.
    const ALIASES: &[(&str, &str)] = &[
        ("regex", "pattern"),
        ("len", "length"),
        ("size", "length"),
        ("validate", "custom"),
        ("function", "custom"),
        ("items", "each"),
        ("inner", "each"),
        ("minimum", "min"),
        ("maximum", "max"),
        ("exclusive_minimum", "exclusive_min"),
        ("exclusive_maximum", "exclusive_max"),
    ];
    if let Some((_, c)) = ALIASES
        .iter()
        .find(|(a, c)| *a == word && candidates.contains(c))
    {
        return candidates.iter().copied().find(|x| x == c);
    }
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// " did you mean `x`?" or "", to append to a message.
pub(crate) fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => {
            let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
            format!("; expected one of {}", list.join(", "))
        }
    }
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
