//! Deterministic page mutation, shared by the robustness tests and the fuzz runner: a fixed seed gives the same
//! mutants on every machine, so a failure found once can be found again.

/// A small linear congruential generator (no dependency needed for this).
pub struct Lcg(pub u64);

impl Lcg {
    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn next(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
}

/// The nearest char boundary at or before `i`.
pub fn floor(t: &str, mut i: usize) -> usize {
    i = i.min(t.len());
    while i > 0 && !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// How many kinds of mutation [`mutate`] knows.
pub const KINDS: usize = 11;

/// Fragments of the pages' own syntax, and characters that trip naive readers: inserted at random places.
const TOKENS: &[&str] = &[
    "```",
    "- `",
    " # X ## ",
    "`x: Optional[",
    "\"",
    "{",
    "}",
    " ## ",
    " ### ",
    "### Parameters",
    "### Returns",
    "Optional[List[",
    "]]",
    "Dict[str, ",
    "Literal[\"A\", \"B\"]",
    " or ",
    "object { a, b, 3 more... }",
    "**post** `/gitpod.v1.XService/Y`",
    "-> JSONLDecoder[X]",
    "`class X: …`",
    "\n",
    "\t",
    "\u{663}",
    "\u{202e}",
    "\0",
    "é",
    "New",
    "r#type",
    "self",
    "_stream",
];

/// One mutant of `text`: kind `k % KINDS`, positions from `rng`. `other` is a second page to splice from.
pub fn mutate(text: &str, other: &str, rng: &mut Lcg, k: usize) -> String {
    let a = floor(text, rng.next(text.len()));
    let b = floor(text, (a + rng.next(400)).min(text.len()));
    match k % KINDS {
        0 => text[..a].to_string(),                   // truncation
        1 => format!("{}{}", &text[..a], &text[b..]), // deleted span
        2 => {
            // shuffled list items
            let mut items: Vec<&str> = text.split(" - `").collect();
            for i in (1..items.len()).rev() {
                let j = 1 + rng.next(i);
                items.swap(i, j);
            }
            items.join(" - `")
        }
        3 => {
            // duplicated heading
            let h = text[a..].find(" ## ").map_or(a, |i| a + i);
            let end = floor(text, (h + 40).min(text.len()));
            format!("{}{}{}", &text[..end], &text[h..end], &text[end..])
        }
        4 => format!("{}{}{}", &text[..a], TOKENS[rng.next(6)], &text[a..]),
        5 => format!("{}{}{}", &text[..a], TOKENS[rng.next(TOKENS.len())], &text[a..]),
        6 => {
            // a span repeated many times (long lists, deep nesting when the span opens a level)
            let times = 2 + rng.next(200);
            format!("{}{}{}", &text[..b], text[a..b].repeat(times), &text[b..])
        }
        7 => {
            // a span of the other page spliced in (sections of one dialect inside the other)
            let oa = floor(other, rng.next(other.len()));
            let ob = floor(other, (oa + rng.next(2000)).min(other.len()));
            format!("{}{}{}", &text[..a], &other[oa..ob], &text[a..])
        }
        8 => {
            // one character replaced by a byte of syntax or an odd character
            let next = text[a..].chars().next().map_or(0, char::len_utf8);
            let with = ["`", "[", "]", "-", "#", "*", " ", "\u{a0}", "Ⅻ", "0"][rng.next(10)];
            format!("{}{}{}", &text[..a], with, &text[a + next..])
        }
        9 => {
            // words changed in case: names that collide, keywords, digits first
            let span = &text[a..b];
            let changed = if rng.next(2) == 0 { span.to_uppercase() } else { span.to_lowercase() };
            format!("{}{}{}", &text[..a], changed, &text[b..])
        }
        _ => {
            // two spans swapped
            let c = floor(text, (b + rng.next(400)).min(text.len()));
            format!("{}{}{}{}", &text[..a], &text[b..c], &text[a..b], &text[c..])
        }
    }
}

/// `n` mutants of `text` of the first `kinds` kinds in turn (the first 5 are the original robustness set).
pub fn mutants(text: &str, rng: &mut Lcg, n: usize, kinds: usize) -> Vec<String> {
    (0..n).map(|k| mutate(text, text, rng, k % kinds.clamp(1, KINDS))).collect()
}
