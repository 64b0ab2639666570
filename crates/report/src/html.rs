//! The report's pages: a category page and the site overview, each one self-contained HTML file.
//!
//! Marketplace text (titles, ids, links) is untrusted. It reaches the page only through [`esc`], the
//! one HTML escaper of the report, for element text and attribute values alike (`<title>` tooltips,
//! `data-` attributes, `href`s); links must also pass [`escape::safe_link`] first, else the site's own
//! product URL is used. There is no `<script>` at all.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use meli_core::ids::{CategoryId, SiteId};
use meli_core::notify::escape;
use meli_core::notify::render::{kind_name, sentence};
use meli_core::signals::EventItem;
use meli_core::site::{Lang, SiteInfo};

use super::chart::{self, Axis, BumpLine, HIGHLIGHT, MUTED};
use super::labels::{labels, percent, Labels};
use super::{CategoryReport, ProductSeries, EVENTS_LISTED, MOVERS};

/// Titles longer than this are cut in tables and chart labels (the tooltip has more).
const LABEL_MAX: usize = 48;
const TOOLTIP_MAX: usize = 300;

/// The one HTML escaper: [`escape::clean`] (control characters, bidi overrides), then `&`, `<`, `>`,
/// `"` and `'` as character references, so the result is safe as element text and as a quoted
/// attribute value.
pub fn esc(s: &str) -> String {
    let cleaned = escape::clean(s);
    let mut out = String::with_capacity(cleaned.len() + 16);
    for c in cleaned.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The file name of a category's page inside a site directory.
pub fn category_file(cat: &CategoryId) -> String {
    format!("{cat}.html")
}

/// A product's name (raw): its title, else its id.
fn raw_name(id: &str, title: Option<&str>) -> String {
    let t = escape::clean(title.unwrap_or_default());
    if t.is_empty() {
        id.to_string()
    } else {
        t
    }
}

/// Short escaped name, and escaped tooltip.
fn names(p: &ProductSeries) -> (String, String) {
    let raw = raw_name(p.id.as_str(), p.title.as_deref());
    (esc(&escape::truncate(&raw, LABEL_MAX)), esc(&escape::truncate(&raw, TOOLTIP_MAX)))
}

/// The escaped link of a product: its permalink when it is a safe http(s) URL, else the site's URL.
fn product_href(site: SiteId, id: &str, permalink: Option<&str>) -> String {
    let url = permalink.and_then(escape::safe_link).unwrap_or_else(|| SiteInfo::of(site).product_url(id));
    esc(&url)
}

fn product_cell(site: SiteId, p: &ProductSeries) -> String {
    let (short, full) = names(p);
    // The id beside the title; a product without a title is already shown by its id.
    let id = if p.title.as_deref().is_some_and(|t| !escape::clean(t).is_empty()) {
        format!(r#" <span class="id">{}</span>"#, esc(p.id.as_str()))
    } else {
        String::new()
    };
    format!(
        r#"<a class="product" href="{}" title="{full}" rel="noreferrer noopener">{short}</a>{id}"#,
        product_href(site, p.id.as_str(), p.permalink.as_deref()),
    )
}

fn change_text(p: &ProductSeries, l: &Labels) -> String {
    let start = p.start().map_or_else(|| l.out.to_string(), |s| format!("#{s}"));
    let arrow = match p.change() {
        None => "★".to_string(),
        Some(c) if c > 0 => format!("↑{c}"),
        Some(c) if c < 0 => format!("↓{}", -c),
        Some(_) => "=".to_string(),
    };
    format!("{arrow} ({start} → #{})", p.current)
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;background:#f6f7f9;color:#1d2129}
header{background:#2d3277;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.85}
header a{color:#ffe600}
main{padding:8px 28px 28px;max-width:1100px}
section{background:#fff;border-radius:8px;padding:14px 18px;margin:16px 0;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:17px;margin:0 0 4px}
p.note{margin:0 0 10px;color:#5b616b;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceef1;vertical-align:middle}
th{color:#5b616b;font-weight:600;font-size:12px}
td.num{text-align:right;white-space:nowrap}
a.product{color:#1d2129;text-decoration:none}
a.product:hover{text-decoration:underline}
span.id{color:#8a9099;font-size:11px}
.chart text{font-size:12px;fill:#4a4f57}
.chart text.rank,.chart text.tick{fill:#8a9099;font-size:11px}
.chart line.row{stroke:#eceef1}
.chart line.grid{stroke:#dfe2e6;stroke-dasharray:2 3}
.sev-major td:first-child{border-left:3px solid #d62728}
.sev-notable td:first-child{border-left:3px solid #ff7f0e}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.big{font-size:26px;font-weight:700}
footer{color:#8a9099;font-size:12px;padding:0 28px 24px}
";

/// The page head and header; `title` and `subtitle` are already escaped.
fn open_page(lang: Lang, title: &str, subtitle: &str, back: Option<&str>) -> String {
    let nav = back.map(|b| format!(r#" · <a href="index.html">{}</a>"#, esc(b))).unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="{}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>{title}</h1><p>{subtitle}{nav}</p></header>
<main>
"#,
        lang.tag()
    )
}

fn close_page(l: &Labels) -> String {
    format!("</main>\n<footer>{}</footer>\n</body>\n</html>\n", esc(l.generated))
}

fn period_text(r: &CategoryReport, l: &Labels) -> String {
    format!(
        "{}: {} – {} UTC · {} {}",
        l.period,
        r.times.first().map_or(r.from, |t| r.from.max(*t)).format(l.datetime_format),
        r.to.format(l.datetime_format),
        r.times.len(),
        l.snapshots
    )
}

/// The colors of the movers, by product id: the same color in the bump chart and the tables.
fn mover_colors(r: &CategoryReport) -> BTreeMap<&str, usize> {
    r.movers().iter().take(MOVERS).enumerate().map(|(i, p)| (p.id.as_str(), i)).collect()
}

/// A category's page; `in_site` adds the link back to the site overview.
pub fn category_page(r: &CategoryReport, in_site: bool) -> String {
    let info = SiteInfo::of(r.site);
    let lang = info.lang;
    let l = labels(lang);
    let title = esc(&format!("{} · {} ({})", l.best_sellers, r.category, info.name));
    let mut page = open_page(lang, &title, &esc(&period_text(r, &l)), in_site.then_some(l.back));
    if r.times.is_empty() {
        let _ = write!(page, "<section><p>{}</p></section>", esc(l.no_data));
        page.push_str(&close_page(&l));
        return page;
    }
    let axis = Axis { from: r.from.max(r.times[0]), to: r.to, tick_format: l.tick_format };
    let colors = mover_colors(r);

    // The bump chart.
    let texts: Vec<(String, String, String)> = r
        .products
        .iter()
        .map(|p| {
            let (short, full) = names(p);
            (esc(p.id.as_str()), short, full)
        })
        .collect();
    let lines: Vec<BumpLine<'_>> = r
        .products
        .iter()
        .zip(&texts)
        .map(|(p, (id, short, full))| BumpLine {
            id,
            label: short,
            tooltip: full,
            positions: &p.positions,
            current: p.current,
            highlight: colors.get(p.id.as_str()).copied(),
        })
        .collect();
    let _ = writeln!(
        page,
        r#"<section id="bump"><h2>{}</h2><p class="note">{}</p>{}</section>"#,
        esc(l.bump_title),
        esc(l.bump_note),
        chart::bump_chart(&r.times, &lines, &axis, &esc(l.bump_title))
    );

    // Movers and new entrants.
    let _ =
        write!(page, r#"<section id="movers"><h2>{}</h2><p class="note">{}</p>"#, esc(l.movers), esc(l.movers_note));
    let movers = r.movers();
    if movers.is_empty() {
        let _ = write!(page, "<p>{}</p>", esc(l.none));
    } else {
        page.push_str(&product_table(r, &movers.into_iter().take(MOVERS * 2).collect::<Vec<_>>(), &colors, &l));
    }
    page.push_str("</section>\n");
    let _ = write!(
        page,
        r#"<section id="entrants"><h2>{}</h2><p class="note">{}</p>"#,
        esc(l.entrants),
        esc(l.entrants_note)
    );
    let entrants = r.new_entrants();
    if entrants.is_empty() {
        let _ = write!(page, "<p>{}</p>", esc(l.none));
    } else {
        page.push_str(&product_table(r, &entrants, &colors, &l));
    }
    page.push_str("</section>\n");

    // Prices of the top 10.
    let _ = write!(
        page,
        r#"<section id="prices"><h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th class="num">{}</th><th class="num">{}</th><th class="num">{}</th></tr>"#,
        esc(l.prices),
        esc(l.col_position),
        esc(l.col_product),
        esc(l.col_price),
        esc(l.first),
        esc(l.last),
        esc(l.col_change)
    );
    for p in r.products.iter().filter(|p| p.current <= super::PRICE_TOP) {
        let first = p.prices.first().map(|x| x.1);
        let last = p.prices.last().map(|x| x.1).or(p.price);
        let fmt = |v: Option<f64>| v.map_or_else(|| "—".to_string(), |v| info.format_price(v));
        let delta = match (first, last) {
            (Some(a), Some(b)) if a > 0.0 => {
                let d = b / a - 1.0;
                format!("{}{}", if d > 0.0 { "+" } else { "" }, percent(lang, d))
            }
            _ => "—".into(),
        };
        let color = colors.get(p.id.as_str()).map_or("#1f77b4", |i| HIGHLIGHT[i % HIGHLIGHT.len()]);
        let _ = write!(
            page,
            r#"<tr data-product="{}"><td>#{}</td><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>"#,
            esc(p.id.as_str()),
            p.current,
            product_cell(r.site, p),
            chart::value_line(&p.prices, axis.from, axis.to, color),
            esc(&fmt(first)),
            esc(&fmt(last)),
            esc(&delta)
        );
    }
    page.push_str("</table></section>\n");

    // Volatility.
    let mean = r.mean_volatility();
    let _ = writeln!(
        page,
        r#"<section id="volatility"><h2>{}</h2><p class="note">{}</p><p><span class="big">{}</span> {}</p>{}</section>"#,
        esc(l.volatility),
        esc(l.volatility_note),
        esc(&mean.map_or_else(|| "—".to_string(), |m| percent(lang, m))),
        esc(l.mean),
        chart::volatility_chart(&r.volatility, &axis, &esc(l.volatility))
    );

    // Events.
    page.push_str(&events_section(r, lang, &l));
    page.push_str(&close_page(&l));
    page
}

fn product_table(r: &CategoryReport, list: &[&ProductSeries], colors: &BTreeMap<&str, usize>, l: &Labels) -> String {
    let info = SiteInfo::of(r.site);
    let mut t = format!(
        r#"<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th class="num">{}</th></tr>"#,
        esc(l.col_position),
        esc(l.col_product),
        esc(l.col_change),
        esc(l.col_history),
        esc(l.col_price)
    );
    for p in list {
        let color = colors.get(p.id.as_str()).map_or("#4a4f57", |i| HIGHLIGHT[i % HIGHLIGHT.len()]);
        let swatch = if colors.contains_key(p.id.as_str()) {
            format!(r#"<span class="swatch" style="background:{color}"></span>"#)
        } else {
            String::new()
        };
        let _ = write!(
            t,
            r#"<tr data-product="{}"><td>#{}</td><td>{swatch}{}</td><td>{}</td><td>{}</td><td class="num">{}</td></tr>"#,
            esc(p.id.as_str()),
            p.current,
            product_cell(r.site, p),
            esc(&change_text(p, l)),
            chart::sparkline(&r.times, &p.positions, 20, color),
            esc(&p.price.map_or_else(|| "—".to_string(), |v| info.format_price(v)))
        );
    }
    t.push_str("</table>");
    t
}

fn events_section(r: &CategoryReport, lang: Lang, l: &Labels) -> String {
    let mut s = format!(r#"<section id="events"><h2>{}</h2>"#, esc(l.events));
    if r.events.is_empty() {
        let _ = writeln!(s, "<p>{}</p></section>", esc(l.no_events));
        return s;
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in &r.events {
        *counts.entry(kind_name(lang, e.kind, e.n)).or_default() += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    let _ = write!(s, r#"<p class="note">{} · {}</p>"#, r.events.len(), esc(&summary.join(" · ")));
    let _ = write!(
        s,
        r#"<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        esc(l.col_when),
        esc(l.col_event),
        esc(l.col_product)
    );
    for e in r.events.iter().rev().take(EVENTS_LISTED) {
        let _ = write!(
            s,
            r#"<tr class="event sev-{}" data-product="{}"><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            e.severity.as_str(),
            esc(e.product.as_str()),
            esc(&e.taken_at.format(l.datetime_format).to_string()),
            esc(&kind_name(lang, e.kind, e.n)),
            event_sentence(lang, e)
        );
    }
    s.push_str("</table>");
    if r.events.len() > EVENTS_LISTED {
        let _ = write!(s, r#"<p class="note">+{} {}</p>"#, r.events.len() - EVENTS_LISTED, esc(l.more_events));
    }
    s.push_str("</section>\n");
    s
}

/// The alert's own sentence, with the title escaped for HTML and linked; the rest of the sentence is
/// the renderer's fixed words, positions and formatted prices.
fn event_sentence(lang: Lang, e: &EventItem) -> String {
    let raw = raw_name(e.product.as_str(), e.title.as_deref());
    let linked = format!(
        r#"<a class="product" href="{}" title="{}" rel="noreferrer noopener">{}</a>"#,
        product_href(e.site, e.product.as_str(), e.permalink.as_deref()),
        esc(&escape::truncate(&raw, TOOLTIP_MAX)),
        esc(&escape::truncate(&raw, LABEL_MAX))
    );
    sentence(lang, e, &linked)
}

/// The site overview: one row per category with its volatility and its biggest mover, linking to the
/// category pages in the same directory.
pub fn overview_page(site: SiteId, reports: &[CategoryReport]) -> String {
    let info = SiteInfo::of(site);
    let lang = info.lang;
    let l = labels(lang);
    let title = esc(&format!("{} · {} ({}) · {}", l.best_sellers, site, info.name, l.overview));
    let span = match (reports.iter().map(|r| r.from).min(), reports.iter().map(|r| r.to).max()) {
        (Some(a), Some(b)) => {
            format!("{}: {} – {} UTC", l.period, a.format(l.datetime_format), b.format(l.datetime_format))
        }
        _ => String::new(),
    };
    let mut page = open_page(lang, &title, &esc(&span), None);
    let _ = write!(
        page,
        r#"<section id="overview"><table><tr><th>{}</th><th class="num">{}</th><th></th><th>{}</th><th class="num">{}</th></tr>"#,
        esc(l.col_category),
        esc(l.col_volatility),
        esc(l.col_biggest_mover),
        esc(l.col_events)
    );
    for r in reports {
        let vol = r.mean_volatility().map_or_else(|| "—".to_string(), |m| percent(lang, m));
        let mover = match r.movers().first() {
            Some(p) => format!(
                "{} <b>{}</b> {}",
                product_cell(site, p),
                esc(&change_text(p, &l)),
                chart::sparkline(&r.times, &p.positions, 20, HIGHLIGHT[0])
            ),
            None => esc(l.none),
        };
        let vol_points: Vec<_> = r.volatility.clone();
        let (from, to) = (r.times.first().copied().unwrap_or(r.from), r.to);
        let _ = write!(
            page,
            r#"<tr class="category" data-category="{cat}"><td><a href="{file}"><b>{cat}</b></a><br><span class="id">{} {}</span></td><td class="num">{}</td><td>{}</td><td>{mover}</td><td class="num">{}</td></tr>"#,
            r.times.len(),
            esc(l.snapshots),
            esc(&vol),
            chart::value_line(&vol_points, from, to, MUTED),
            r.events.len(),
            cat = esc(r.category.as_str()),
            file = esc(&category_file(&r.category)),
        );
    }
    page.push_str("</table></section>\n");
    page.push_str(&close_page(&l));
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escaper_defuses_markup_in_text_and_attributes() {
        assert_eq!(esc("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(esc(r#"a" onmouseover="x"#), "a&quot; onmouseover=&quot;x");
        assert_eq!(esc("'x'"), "&#39;x&#39;");
        assert_eq!(esc("Tom &amp; Jerry"), "Tom &amp;amp; Jerry");
        assert_eq!(esc("\u{202E}RTL\u{202C}\nnext"), "RTL next");
        for s in meli_sandbox::catalog::HOSTILE_TITLES {
            let e = esc(s);
            assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''), "{s} → {e}");
        }
    }

    #[test]
    fn unsafe_permalinks_fall_back_to_the_site() {
        assert_eq!(
            product_href(SiteId::MLB, "MLB1", Some("javascript:alert(1)")),
            "https://www.mercadolivre.com.br/p/MLB1"
        );
        assert_eq!(
            product_href(SiteId::MLB, "MLB1", Some("https://www.mercadolivre.com.br/x?a=1&b=2")),
            "https://www.mercadolivre.com.br/x?a=1&amp;b=2"
        );
    }
}
