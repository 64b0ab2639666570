//! Escaping of untrusted text (titles, brands, links from the marketplace), per channel, in one place.
//!
//! Every channel first [`clean`]s the text: control characters become spaces, bidirectional
//! overrides and isolates (U+202A–U+202E, U+2066–U+2069, which can flip the surrounding price or link
//! on screen) are removed, runs of whitespace collapse to one space. Then:
//!
//! - **Slack mrkdwn** ([`slack`]): `&`, `<`, `>` become `&amp;`, `&lt;`, `&gt;` (Slack's own rule),
//!   which defuses `<!channel>`, `<!here>`, `<@U…>` and `<url|text>` links; the formatting characters
//!   `*`, `_`, `~` and `` ` `` are replaced by look-alikes (`∗`, `ˍ`, `∼`, `ˋ`) because Slack has no
//!   backslash escape; an `@everyone`-style word loses its power the same way Slack treats it, as
//!   plain text (only the `<!…>` forms notify, and those are escaped).
//! - **SMS** ([`sms`]): plain text, no markup: tag-like runs (`<…>`) are dropped and the formatting
//!   characters removed; [`truncate`] then fits the whole message in 140 characters.
//! - **E-mail text** ([`email`]): plain text; `<` and `>` become `‹` and `›`, so no mail client can
//!   read the text as HTML; one line per field (no header or line injection).
//! - **E-mail subject** ([`subject`]): SNS wants ASCII without line breaks, < 100 characters: accents
//!   are folded (`ã` → `a`), anything else non-ASCII is dropped.
//! - **Links** ([`safe_link`]): only `https://` (or `http://`) URLs without spaces, quotes, `<`, `>` or
//!   `|` are used; anything else falls back to the site's own product URL.

/// Removes control characters and bidi overrides, collapses whitespace, trims.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if is_bidi_control(c) || c == '\u{FEFF}' {
            continue;
        }
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Untrusted text for Slack mrkdwn (section text, context elements, link labels).
pub fn slack(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' => out.push('∗'),
            '_' => out.push('ˍ'),
            '~' => out.push('∼'),
            '`' => out.push('ˋ'),
            c => out.push(c),
        }
    }
    out
}

/// Untrusted text for an SMS: no markup at all.
pub fn sms(s: &str) -> String {
    let cleaned = clean(s);
    let mut out = String::with_capacity(cleaned.len());
    let mut chars = cleaned.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // A tag-like run `<…>` (HTML tags, Slack mentions, `<url|label>`) goes as a whole.
            '<' => {
                let rest: String = chars.clone().take(200).collect();
                if let Some(end) = rest.find('>') {
                    for _ in 0..rest[..end].chars().count() + 1 {
                        chars.next();
                    }
                    out.push(' ');
                }
            }
            '>' | '*' | '_' | '~' | '`' => {}
            c => out.push(c),
        }
    }
    clean(&out)
}

/// Untrusted text for a plain-text e-mail body line.
pub fn email(s: &str) -> String {
    clean(s)
        .chars()
        .map(|c| match c {
            '<' => '‹',
            '>' => '›',
            c => c,
        })
        .collect()
}

/// An SNS e-mail subject: ASCII, one line, at most `max` characters (SNS: fewer than 100).
pub fn subject(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in clean(s).chars().filter(|c| !matches!(c, '<' | '>')) {
        if let Some(f) = fold_ascii(c) {
            out.push_str(f);
        }
    }
    truncate_with(&clean(&out), max, "...")
}

/// The ASCII form of a character: itself if printable ASCII, its base letter for the Latin letters
/// the marketplace uses, a look-alike for common typography, nothing otherwise.
fn fold_ascii(c: char) -> Option<&'static str> {
    if c.is_ascii_graphic() || c == ' ' {
        // A static str per ASCII character.
        const ASCII: &str =
            " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
        let i = (c as usize).checked_sub(32)?;
        return ASCII.get(i..i + 1);
    }
    Some(match c {
        'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' | 'ª' => "a",
        'Á' | 'À' | 'Â' | 'Ã' | 'Ä' | 'Å' => "A",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'É' | 'È' | 'Ê' | 'Ë' => "E",
        'í' | 'ì' | 'î' | 'ï' => "i",
        'Í' | 'Ì' | 'Î' | 'Ï' => "I",
        'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'º' => "o",
        'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => "O",
        'ú' | 'ù' | 'û' | 'ü' => "u",
        'Ú' | 'Ù' | 'Û' | 'Ü' => "U",
        'ç' => "c",
        'Ç' => "C",
        'ñ' => "n",
        'Ñ' => "N",
        '–' | '—' => "-",
        '→' => "->",
        '‘' | '’' => "'",
        '“' | '”' => "\"",
        '…' => "...",
        '№' => "No",
        _ => return None,
    })
}

/// Cuts a text to at most `max` characters (not bytes), ending with `…` when it was cut.
pub fn truncate(s: &str, max: usize) -> String {
    truncate_with(s, max, "…")
}

/// Cuts a text to at most `max` characters, ending with `ellipsis` when it was cut.
pub fn truncate_with(s: &str, max: usize, ellipsis: &str) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(ellipsis.chars().count());
    let mut out: String = s.chars().take(room).collect();
    while out.ends_with(' ') {
        out.pop();
    }
    out.push_str(ellipsis);
    out
}

/// A link that is safe to put in a Slack `<url|label>` and in a message: http(s), no characters that
/// end a Slack link or an HTML attribute. `None` for anything else.
pub fn safe_link(url: &str) -> Option<String> {
    safe_link_max(url, 2000)
}

/// [`safe_link`] with another length limit: a presigned report URL carries a signature and, with a
/// role's credentials, a session token (often 1,500 characters or more); Slack takes 3,000 in a
/// button's `url`.
pub fn safe_link_max(url: &str, max_len: usize) -> Option<String> {
    let u = url.trim();
    let ok_scheme = u.starts_with("https://") || u.starts_with("http://");
    let bad = |c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '|' | '"' | '\'' | '`' | '\\');
    if !ok_scheme || u.chars().any(bad) || u.len() > max_len {
        return None;
    }
    let host = u.split("://").nth(1)?.split(['/', '?', '#']).next()?;
    if host.is_empty() || host.contains('@') {
        return None;
    }
    Some(u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_defuses_mentions_links_and_formatting() {
        assert_eq!(slack("<!channel> hi <@U0123ABCD>"), "&lt;!channel&gt; hi &lt;@U0123ABCD&gt;");
        assert_eq!(slack("Tom &amp; Jerry"), "Tom &amp;amp; Jerry");
        assert_eq!(slack("*bold* _it_ ~s~ `c`"), "∗bold∗ ˍitˍ ∼s∼ ˋcˋ");
        assert_eq!(slack("<https://evil.example|clique>"), "&lt;https://evil.example|clique&gt;");
        for s in ["<!here>", "<script>", "a<b", "a>b"] {
            let e = slack(s);
            assert!(!e.contains('<') && !e.contains('>'), "{s} → {e}");
        }
    }

    #[test]
    fn bidi_and_controls_are_removed() {
        assert_eq!(clean("\u{202E}abc\u{202C} d\te\n\nf\u{0007}"), "abc d e f");
        assert_eq!(clean("  x  "), "x");
        assert_eq!(slack("Ñandú ☂ \u{202E}RTL"), "Ñandú ☂ RTL");
    }

    #[test]
    fn sms_has_no_markup() {
        assert_eq!(sms("<script>alert(1)</script> Celular"), "alert(1) Celular");
        assert_eq!(sms("<!channel> Oferta *já*"), "Oferta já");
        assert_eq!(sms("a < b"), "a b");
    }

    #[test]
    fn email_cannot_carry_html() {
        assert_eq!(email("<b>x</b>\r\nBcc: a@b"), "‹b›x‹/b› Bcc: a@b");
    }

    #[test]
    fn subjects_are_short_ascii_lines() {
        assert_eq!(
            subject("Novo nº 1: Fone Bluetooth Edição — Ñandú 🔥", 99),
            "Novo no 1: Fone Bluetooth Edicao - Nandu"
        );
        let long = subject(&"Muito longo ".repeat(20), 99);
        assert!(long.chars().count() <= 99 && long.is_ascii() && long.ends_with("..."), "{long}");
        assert!(!subject("a\r\nb", 99).contains('\n'));
        assert_eq!(subject("<!channel> <b>x</b>", 99), "!channel bx/b");
    }

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate("ação", 4), "ação");
        assert_eq!(truncate("ações", 4), "açõ…");
        assert_eq!(truncate("🔥🔥🔥", 2), "🔥…");
    }

    #[test]
    fn links() {
        assert_eq!(
            safe_link("https://www.mercadolivre.com.br/p/MLB1"),
            Some("https://www.mercadolivre.com.br/p/MLB1".into())
        );
        for bad in [
            "javascript:alert(1)",
            "https://a b",
            "https://x|y",
            "https://x>y",
            "ftp://x",
            "https://",
            "https://u@evil",
        ] {
            assert_eq!(safe_link(bad), None, "{bad}");
        }
        let long = format!("https://b.s3.amazonaws.com/r.html?X-Amz-Security-Token={}", "a".repeat(2100));
        assert_eq!(safe_link(&long), None);
        assert_eq!(safe_link_max(&long, 3000), Some(long.clone()));
        assert_eq!(safe_link_max("https://x/a b", 3000), None);
    }
}
