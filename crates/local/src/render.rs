//! What a person reads in the terminal. Marketplace text is untrusted: control characters (terminal
//! escapes) are dropped before anything is printed.

use std::fmt::Write as _;

use meli_core::signals::{EventItem, LatestItem};
use meli_core::site::SiteInfo;

/// Drops control characters (ANSI escapes, bidi overrides, newlines) from text for a terminal.
pub fn terminal_safe(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(*c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
        })
        .collect()
}

/// Cuts text to `width` characters, with an ellipsis, and pads it to exactly `width`.
pub fn fit(s: &str, width: usize) -> String {
    let s = terminal_safe(s);
    let n = s.chars().count();
    if n <= width {
        format!("{s}{}", " ".repeat(width - n))
    } else {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The change column: `↑3`, `↓2`, `=`, or `new`.
pub fn change(c: Option<i32>) -> String {
    match c {
        None => "new".into(),
        Some(0) => "=".into(),
        Some(n) if n > 0 => format!("↑{n}"),
        Some(n) => format!("↓{}", -n),
    }
}

/// The ranking table of a category.
pub fn ranking(latest: &LatestItem, name: Option<&str>) -> String {
    let info = SiteInfo::of(latest.site);
    let mut out = String::new();
    let title = name.map(|n| format!(" · {}", terminal_safe(n))).unwrap_or_default();
    let _ = writeln!(
        out,
        "== {} · {}{} — top {} at {} ==",
        latest.site,
        latest.category,
        title,
        latest.products.len(),
        latest.taken_at.format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(out, "{:>3}  {:<5} {:<52} {:>16}  type", "#", "Δ", "title", "price");
    for p in &latest.products {
        let title = p.title.clone().unwrap_or_else(|| format!("({})", p.id));
        let price = p.price.map(|v| info.format_price(v)).unwrap_or_else(|| "—".into());
        let _ = writeln!(
            out,
            "{:>3}  {:<5} {} {:>16}  {}",
            p.position,
            change(p.change_prev),
            fit(&title, 52),
            price,
            p.kind.as_str()
        );
    }
    out
}

/// One line per event, for the console.
pub fn event_line(e: &EventItem) -> String {
    let title = e.title.clone().unwrap_or_else(|| e.product.to_string());
    let pos = match (e.from_position, e.to_position) {
        (Some(a), Some(b)) => format!("#{a} → #{b}"),
        (None, Some(b)) => format!("→ #{b}"),
        (Some(a), None) => format!("#{a} →"),
        (None, None) => String::new(),
    };
    format!(
        "{} {:<8} {:<3}/{:<10} {:<16} {:<12} {}",
        e.taken_at.format("%m-%d %H:%M"),
        e.severity.as_str(),
        e.site,
        e.category,
        e.key_kind,
        pos,
        fit(&title, 60).trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_is_defused() {
        assert_eq!(terminal_safe("a\u{1b}[31mred\u{1b}[0m\nb\u{202E}c"), "a[31mred[0mbc");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit("ñçã", 3), "ñçã");
        assert_eq!(change(Some(3)), "↑3");
        assert_eq!(change(Some(-2)), "↓2");
        assert_eq!(change(None), "new");
    }
}
