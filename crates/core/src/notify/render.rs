//! What a person reads: pure functions from event items to Slack Block Kit, SNS bodies (subject,
//! e-mail text, SMS) and feed lines, localized by site (pt-BR for MLB, Spanish for the
//! Spanish-speaking sites, English otherwise) with prices in the site's currency and format.
//!
//! Untrusted text (title, brand, link) only reaches a message through [`super::escape`], once, at
//! the point where the channel is known.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::escape;
use super::port::{FeedAlert, MessageAttributes, SlackMessage, SnsMessage};
use crate::keys;
use crate::signals::{EventItem, EventKind, PositionPoint, Severity};
use crate::site::{Lang, SiteInfo};

/// SMS length limit, in characters.
pub const SMS_MAX: usize = 140;
/// SNS e-mail subject limit (SNS wants fewer than 100 characters).
pub const SUBJECT_MAX: usize = 99;
/// Titles longer than this are cut in Slack and e-mail (SMS cuts to fit).
pub const TITLE_MAX: usize = 120;
/// Blocks one event takes in a Slack message (a section and a context).
const BLOCKS_PER_EVENT: usize = 2;

/// The language of a site's alerts.
pub fn lang_of(e: &EventItem) -> Lang {
    SiteInfo::of(e.site).lang
}

/// A language from its tag (`pt-BR`, `pt`, `es`, `en`).
pub fn parse_lang(tag: &str) -> Option<Lang> {
    match tag.trim().to_ascii_lowercase().as_str() {
        "pt-br" | "pt" => Some(Lang::PtBr),
        "es" => Some(Lang::Es),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// Short label of an event ("Novo nº 1", "Entrou no top 10").
pub fn kind_label(lang: Lang, e: &EventItem) -> String {
    kind_name(lang, e.kind, e.n)
}

/// Short label of an event kind; `n` is the N of the top-N kinds.
pub fn kind_name(lang: Lang, kind: EventKind, n: Option<u8>) -> String {
    let n = n.map(|n| n.to_string()).unwrap_or_else(|| "N".into());
    let s = match (lang, kind) {
        (Lang::PtBr, EventKind::NewEntrant) => "Novo na lista",
        (Lang::PtBr, EventKind::Reentry) => "De volta à lista",
        (Lang::PtBr, EventKind::DroppedOut) => "Saiu da lista",
        (Lang::PtBr, EventKind::EnteredTopN) => return format!("Entrou no top {n}"),
        (Lang::PtBr, EventKind::LeftTopN) => return format!("Saiu do top {n}"),
        (Lang::PtBr, EventKind::NewNumberOne) => "Novo nº 1",
        (Lang::PtBr, EventKind::Climber) => "Em alta",
        (Lang::PtBr, EventKind::Faller) => "Em queda",
        (Lang::PtBr, EventKind::PriceDrop) => "Preço em queda",
        (Lang::PtBr, EventKind::ReviewsSurge) => "Avaliações em alta",
        (Lang::Es, EventKind::NewEntrant) => "Nuevo en la lista",
        (Lang::Es, EventKind::Reentry) => "De vuelta en la lista",
        (Lang::Es, EventKind::DroppedOut) => "Salió de la lista",
        (Lang::Es, EventKind::EnteredTopN) => return format!("Entró al top {n}"),
        (Lang::Es, EventKind::LeftTopN) => return format!("Salió del top {n}"),
        (Lang::Es, EventKind::NewNumberOne) => "Nuevo n.º 1",
        (Lang::Es, EventKind::Climber) => "En alza",
        (Lang::Es, EventKind::Faller) => "En baja",
        (Lang::Es, EventKind::PriceDrop) => "Baja de precio",
        (Lang::Es, EventKind::ReviewsSurge) => "Más opiniones",
        (Lang::En, EventKind::NewEntrant) => "New in the list",
        (Lang::En, EventKind::Reentry) => "Back in the list",
        (Lang::En, EventKind::DroppedOut) => "Dropped out",
        (Lang::En, EventKind::EnteredTopN) => return format!("Entered the top {n}"),
        (Lang::En, EventKind::LeftTopN) => return format!("Left the top {n}"),
        (Lang::En, EventKind::NewNumberOne) => "New #1",
        (Lang::En, EventKind::Climber) => "Climber",
        (Lang::En, EventKind::Faller) => "Faller",
        (Lang::En, EventKind::PriceDrop) => "Price drop",
        (Lang::En, EventKind::ReviewsSurge) => "Reviews surge",
    };
    s.to_string()
}

fn severity_label(lang: Lang, s: Severity) -> &'static str {
    match (lang, s) {
        (Lang::PtBr, Severity::Info) => "informativo",
        (Lang::PtBr, Severity::Notable) => "relevante",
        (Lang::PtBr, Severity::Major) => "importante",
        (Lang::Es, Severity::Info) => "informativo",
        (Lang::Es, Severity::Notable) => "relevante",
        (Lang::Es, Severity::Major) => "importante",
        (Lang::En, Severity::Info) => "info",
        (Lang::En, Severity::Notable) => "notable",
        (Lang::En, Severity::Major) => "major",
    }
}

fn out_word(lang: Lang) -> &'static str {
    match lang {
        Lang::PtBr => "fora",
        Lang::Es => "fuera",
        Lang::En => "out",
    }
}

fn pos(lang: Lang, p: Option<u8>) -> String {
    p.map(|p| format!("#{p}")).unwrap_or_else(|| out_word(lang).to_string())
}

/// `#4 → #1`, `fora → #7`, `#12 → fora`.
pub fn movement(lang: Lang, e: &EventItem) -> String {
    format!("{} → {}", pos(lang, e.from_position), pos(lang, e.to_position))
}

/// The product's name for a message (raw, not escaped): title, else its id.
fn raw_title(e: &EventItem) -> String {
    let t = escape::clean(e.title.as_deref().unwrap_or_default());
    if t.is_empty() {
        e.product.to_string()
    } else {
        escape::truncate(&t, TITLE_MAX)
    }
}

/// The sentence of an event, with the title already escaped for the channel.
pub fn sentence(lang: Lang, e: &EventItem, title: &str) -> String {
    let info = SiteInfo::of(e.site);
    let n = e.n.unwrap_or(10);
    let to = pos(lang, e.to_position);
    let from = pos(lang, e.from_position);
    let mv = movement(lang, e);
    let places = e.places.map_or(0, i32::unsigned_abs);
    let price = e.price.map(|p| info.format_price(p)).unwrap_or_else(|| "—".into());
    let reference = e.reference_price.map(|p| info.format_price(p)).unwrap_or_else(|| "—".into());
    let pct = e.price_change_share.map_or(0, |s| (-s * 100.0).round() as i64);
    let delta = e.reviews_delta.unwrap_or(0);
    let after = e.reviews_after.unwrap_or(0);
    match lang {
        Lang::PtBr => match e.kind {
            EventKind::NewEntrant => format!("{title} entrou na lista em {to}"),
            EventKind::Reentry => format!("{title} voltou à lista em {to}"),
            EventKind::DroppedOut => format!("{title} saiu da lista (estava em {from})"),
            EventKind::EnteredTopN => format!("{title} entrou no top {n}: {mv}"),
            EventKind::LeftTopN => format!("{title} saiu do top {n}: {mv}"),
            EventKind::NewNumberOne => format!("{title} é o novo nº 1 (antes {from})"),
            EventKind::Climber => format!("{title} subiu {places} posições: {mv}"),
            EventKind::Faller => format!("{title} caiu {places} posições: {mv}"),
            EventKind::PriceDrop => format!("{title} baixou {pct}% para {price} (mínimo anterior {reference})"),
            EventKind::ReviewsSurge => format!("{title} ganhou {delta} avaliações em 24 h ({after} no total)"),
        },
        Lang::Es => match e.kind {
            EventKind::NewEntrant => format!("{title} entró en la lista en el {to}"),
            EventKind::Reentry => format!("{title} volvió a la lista en el {to}"),
            EventKind::DroppedOut => format!("{title} salió de la lista (estaba en el {from})"),
            EventKind::EnteredTopN => format!("{title} entró al top {n}: {mv}"),
            EventKind::LeftTopN => format!("{title} salió del top {n}: {mv}"),
            EventKind::NewNumberOne => format!("{title} es el nuevo n.º 1 (antes {from})"),
            EventKind::Climber => format!("{title} subió {places} puestos: {mv}"),
            EventKind::Faller => format!("{title} bajó {places} puestos: {mv}"),
            EventKind::PriceDrop => format!("{title} bajó un {pct} % a {price} (mínimo anterior {reference})"),
            EventKind::ReviewsSurge => format!("{title} sumó {delta} opiniones en 24 h ({after} en total)"),
        },
        Lang::En => match e.kind {
            EventKind::NewEntrant => format!("{title} entered the list at {to}"),
            EventKind::Reentry => format!("{title} is back in the list at {to}"),
            EventKind::DroppedOut => format!("{title} dropped out of the list (was {from})"),
            EventKind::EnteredTopN => format!("{title} entered the top {n}: {mv}"),
            EventKind::LeftTopN => format!("{title} left the top {n}: {mv}"),
            EventKind::NewNumberOne => format!("{title} is the new #1 (was {from})"),
            EventKind::Climber => format!("{title} climbed {places} places: {mv}"),
            EventKind::Faller => format!("{title} fell {places} places: {mv}"),
            EventKind::PriceDrop => format!("{title} dropped {pct}% to {price} (previous low {reference})"),
            EventKind::ReviewsSurge => format!("{title} got {delta} reviews in 24 h ({after} in total)"),
        },
    }
}

/// A text sparkline of the recent positions (higher bar = better position; `·` = not in the list).
pub fn sparkline(points: &[PositionPoint]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    points
        .iter()
        .map(|p| match p.position {
            Some(pos) => {
                let pos = usize::from(pos.clamp(1, 20));
                BARS[(20 - pos) * 7 / 19]
            }
            None => '·',
        })
        .collect()
}

/// The link of an event's product: its permalink when safe, else the site's product URL.
pub fn link(e: &EventItem) -> String {
    e.permalink
        .as_deref()
        .and_then(escape::safe_link)
        .unwrap_or_else(|| SiteInfo::of(e.site).product_url(e.product.as_str()))
}

fn category_line(lang: Lang, e: &EventItem) -> String {
    let info = SiteInfo::of(e.site);
    match lang {
        Lang::PtBr => format!("Mais vendidos · {} ({})", e.category, info.name),
        Lang::Es => format!("Más vendidos · {} ({})", e.category, info.name),
        Lang::En => format!("Best sellers · {} ({})", e.category, info.name),
    }
}

fn price_line(e: &EventItem) -> Option<String> {
    e.price.map(|p| SiteInfo::of(e.site).format_price(p))
}

/// The message attributes of an event.
pub fn attributes(e: &EventItem) -> MessageAttributes {
    MessageAttributes {
        site: e.site.to_string(),
        category: e.category.to_string(),
        event: e.kind.as_str().to_string(),
        product: e.product.to_string(),
        severity: e.severity.as_str().to_string(),
    }
}

/// The SMS of an event: ≤ 140 characters, no markup; the title is cut to make room.
pub fn sms(lang: Lang, e: &EventItem) -> String {
    let label = kind_label(lang, e);
    let mut tail = format!(" ({})", movement(lang, e));
    if let (EventKind::PriceDrop, Some(p)) = (e.kind, price_line(e)) {
        tail = format!(" {p}");
    }
    let head = format!("{label}: ");
    let room = SMS_MAX.saturating_sub(head.chars().count() + tail.chars().count());
    let mut title = escape::sms(e.title.as_deref().unwrap_or_default());
    if title.is_empty() {
        title = e.product.to_string();
    }
    let text = format!("{head}{}{tail}", escape::truncate(&title, room));
    escape::truncate(&text, SMS_MAX)
}

/// The SNS message of one event.
pub fn sns_message(lang: Lang, e: &EventItem, dedup_id: &str) -> SnsMessage {
    let label = kind_label(lang, e);
    let title_mail = escape::email(&raw_title(e));
    let headline = sentence(lang, e, &title_mail);
    let subject = escape::subject(&format!("[meli-radar] {label} · {}: {}", e.category, raw_title(e)), SUBJECT_MAX);
    let email = email_body(lang, e, &headline);
    SnsMessage {
        subject,
        default: format!("{headline} {}", link(e)),
        email,
        sms: sms(lang, e),
        attributes: attributes(e),
        dedup_id: dedup_id.to_string(),
    }
}

fn email_body(lang: Lang, e: &EventItem, headline: &str) -> String {
    let (l_pos, l_price, l_brand, l_recent, l_link, l_when, footer) = match lang {
        Lang::PtBr => (
            "Posição",
            "Preço",
            "Marca",
            "Posições recentes",
            "Link",
            "Lista de",
            "Você recebe este e-mail porque assinou os alertas do meli-radar para esta categoria.",
        ),
        Lang::Es => (
            "Posición",
            "Precio",
            "Marca",
            "Posiciones recientes",
            "Enlace",
            "Lista del",
            "Recibes este correo porque te suscribiste a las alertas de meli-radar de esta categoría.",
        ),
        Lang::En => (
            "Position",
            "Price",
            "Brand",
            "Recent positions",
            "Link",
            "List of",
            "You get this e-mail because you subscribed to meli-radar alerts for this category.",
        ),
    };
    let mut lines = vec![headline.to_string(), String::new(), category_line(lang, e)];
    lines.push(format!("{l_pos}: {}", movement(lang, e)));
    if let Some(p) = price_line(e) {
        lines.push(format!("{l_price}: {p}"));
    }
    if let Some(b) = e.brand.as_deref().map(escape::email).filter(|b| !b.is_empty()) {
        lines.push(format!("{l_brand}: {}", escape::truncate(&b, TITLE_MAX)));
    }
    if !e.recent_positions.is_empty() {
        lines.push(format!("{l_recent}: {}", sparkline(&e.recent_positions)));
    }
    lines.push(format!("{l_when}: {} UTC", e.taken_at.format("%Y-%m-%d %H:%M")));
    lines.push(format!("{l_link}: {}", link(e)));
    lines.push(String::new());
    lines.push(format!("-- {footer}"));
    lines.join("\n")
}

/// The Slack blocks of one event: a section (label, category, linked title, movement, price) and a
/// context (sparkline, severity).
pub fn slack_event_blocks(lang: Lang, e: &EventItem) -> Vec<Value> {
    let title = escape::slack(&raw_title(e));
    let url = link(e);
    let linked = format!("<{url}|{title}>");
    let mut detail = movement(lang, e);
    if let Some(p) = price_line(e) {
        detail.push_str(&format!(" · {p}"));
    }
    let text = format!(
        "*{}* · {}\n{}\n{}",
        kind_label(lang, e),
        escape::slack(&category_line(lang, e)),
        sentence(lang, e, &linked),
        detail
    );
    let recent = match lang {
        Lang::PtBr => "posições recentes",
        Lang::Es => "posiciones recientes",
        Lang::En => "recent positions",
    };
    let mut context = vec![json!({"type": "mrkdwn", "text": format!("`{}` {recent}", sparkline(&e.recent_positions))})];
    context.push(json!({"type": "mrkdwn", "text": severity_label(lang, e.severity)}));
    vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}),
        json!({"type": "context", "elements": context}),
    ]
}

fn slack_header(lang: Lang, count: usize, part: Option<(usize, usize)>) -> Value {
    let mut t = match (lang, count) {
        (Lang::PtBr, 1) => "meli-radar · 1 alerta".to_string(),
        (Lang::PtBr, n) => format!("meli-radar · {n} alertas"),
        (Lang::Es, 1) => "meli-radar · 1 alerta".to_string(),
        (Lang::Es, n) => format!("meli-radar · {n} alertas"),
        (Lang::En, 1) => "meli-radar · 1 alert".to_string(),
        (Lang::En, n) => format!("meli-radar · {n} alerts"),
    };
    if let Some((i, of)) = part {
        t.push_str(&format!(" ({i}/{of})"));
    }
    json!({"type": "header", "text": {"type": "plain_text", "text": t, "emoji": true}})
}

/// Events per Slack message: a header plus two blocks per event within 50 blocks.
pub const EVENTS_PER_SLACK_MESSAGE: usize = (SlackMessage::MAX_BLOCKS - 1) / BLOCKS_PER_EVENT;

/// Coalesces the events for one webhook into as few messages as fit (≤ 50 blocks each), in order.
/// Returns each message with the indexes of the events it carries. `lang` overrides the sites' own
/// languages.
pub fn slack_messages(lang: Option<Lang>, events: &[&EventItem]) -> Vec<(SlackMessage, Vec<usize>)> {
    let Some(first) = events.first() else { return Vec::new() };
    let lang_for = |e: &EventItem| lang.unwrap_or_else(|| lang_of(e));
    let lang = lang_for(first);
    let chunks: Vec<&[&EventItem]> = events.chunks(EVENTS_PER_SLACK_MESSAGE).collect();
    let total = chunks.len();
    let mut out = Vec::with_capacity(total);
    for (i, chunk) in chunks.iter().enumerate() {
        let part = (total > 1).then_some((i + 1, total));
        let mut blocks = vec![slack_header(lang, chunk.len(), part)];
        for e in chunk.iter() {
            blocks.extend(slack_event_blocks(lang_for(e), e));
        }
        let text = if chunk.len() == 1 {
            sentence(lang_for(chunk[0]), chunk[0], &escape::slack(&raw_title(chunk[0])))
        } else {
            let t = chunk.iter().map(|e| kind_label(lang_for(e), e)).collect::<Vec<_>>().join(", ");
            escape::slack(&format!("meli-radar: {t}"))
        };
        let base = i * EVENTS_PER_SLACK_MESSAGE;
        out.push((SlackMessage { text: escape::truncate(&text, 300), blocks }, (base..base + chunk.len()).collect()));
    }
    out
}

/// A feed line (console, JSON-lines file) for an event.
pub fn feed_alert(lang: Lang, e: &EventItem, delivery: &str) -> FeedAlert {
    let title = escape::sms(&raw_title(e));
    let mut text = sentence(lang, e, &title);
    if let (Some(p), false) = (price_line(e), e.kind == EventKind::PriceDrop) {
        text.push_str(&format!(" · {p}"));
    }
    FeedAlert {
        delivery: delivery.to_string(),
        site: e.site.to_string(),
        category: e.category.to_string(),
        event: e.kind.as_str().to_string(),
        product: e.product.to_string(),
        severity: e.severity.as_str().to_string(),
        lang: lang.tag().to_string(),
        text,
        link: Some(link(e)),
        at: keys::ts(e.taken_at),
    }
}

// ---------------------------------------------------------------------------------------------
// Digests

/// One category's part of a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryDigest<'a> {
    pub site: crate::ids::SiteId,
    pub category: crate::ids::CategoryId,
    /// Events per kind.
    pub counts: BTreeMap<EventKind, usize>,
    /// The biggest moves ([`top_movers`]), at most [`TOP_MOVERS`].
    pub top_movers: Vec<&'a EventItem>,
    /// New #1s of the period, in time order.
    pub number_ones: Vec<&'a EventItem>,
    pub total: usize,
    /// The link to the category's HTML report (a presigned URL in AWS), when the digest has one;
    /// [`summarize`] leaves it empty and the digest step fills it in.
    pub report: Option<String>,
}

/// Longest report link a digest carries (Slack's limit for a button's `url`).
pub const REPORT_LINK_MAX: usize = 3000;

impl CategoryDigest<'_> {
    /// The report link if it is a safe http(s) URL ([`escape::safe_link_max`]); anything else is
    /// left out of the message.
    pub fn report_link(&self) -> Option<String> {
        self.report.as_deref().and_then(|u| escape::safe_link_max(u, REPORT_LINK_MAX))
    }
}

/// "Full report: <url>" in the language (plain text: e-mail and feed).
fn report_line(lang: Lang, url: &str) -> String {
    match lang {
        Lang::PtBr => format!("Relatório completo: {url}"),
        Lang::Es => format!("Informe completo: {url}"),
        Lang::En => format!("Full report: {url}"),
    }
}

/// The label of the report button in Slack.
fn report_button(lang: Lang) -> &'static str {
    match lang {
        Lang::PtBr => "Ver relatório",
        Lang::Es => "Ver informe",
        Lang::En => "View report",
    }
}

/// Movers listed per category in a digest.
pub const TOP_MOVERS: usize = 3;

/// The `n` biggest moves among `events`, by places, then oldest first, then by sort key. A mover
/// is a `climber` or `faller` event: one move makes one of those, where it can also make top-N
/// events, so each move is listed once.
pub fn top_movers<'a>(events: impl IntoIterator<Item = &'a EventItem>, n: usize) -> Vec<&'a EventItem> {
    let mut movers: Vec<&EventItem> = events
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::Climber | EventKind::Faller) && e.places.is_some())
        .collect();
    movers.sort_by(|a, b| {
        let key = |e: &EventItem| (std::cmp::Reverse(e.places.map_or(0, i32::unsigned_abs)), e.taken_at);
        key(a).cmp(&key(b)).then_with(|| a.sk.cmp(&b.sk))
    });
    movers.truncate(n);
    movers
}

/// Groups the events of a period per category (in key order) with the top movers.
pub fn summarize<'a>(events: &[&'a EventItem]) -> Vec<CategoryDigest<'a>> {
    let mut by_cat: BTreeMap<(String, String), Vec<&'a EventItem>> = BTreeMap::new();
    for e in events {
        by_cat.entry((e.site.to_string(), e.category.to_string())).or_default().push(e);
    }
    by_cat
        .into_values()
        .filter_map(|mut list| {
            list.sort_by(|a, b| (a.taken_at, &a.sk).cmp(&(b.taken_at, &b.sk)));
            let first = *list.first()?;
            let mut counts = BTreeMap::new();
            for e in &list {
                *counts.entry(e.kind).or_insert(0) += 1;
            }
            let movers = top_movers(list.iter().copied(), TOP_MOVERS);
            let number_ones = list.iter().copied().filter(|e| e.kind == EventKind::NewNumberOne).collect();
            Some(CategoryDigest {
                site: first.site,
                category: first.category.clone(),
                counts,
                top_movers: movers,
                number_ones,
                total: list.len(),
                report: None,
            })
        })
        .collect()
}

/// The period of a digest, for its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestPeriod {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

fn digest_title(lang: Lang, n: usize, p: &DigestPeriod) -> String {
    let span = format!("{} – {} UTC", p.from.format("%d/%m %H:%M"), p.to.format("%d/%m %H:%M"));
    let alerts = alerts_word(lang, n);
    match lang {
        Lang::PtBr => format!("Resumo meli-radar · {alerts} · {span}"),
        Lang::Es => format!("Resumen meli-radar · {alerts} · {span}"),
        Lang::En => format!("meli-radar digest · {alerts} · {span}"),
    }
}

/// `1 alert`, `3 alerts` / `1 alerta`, `3 alertas`.
fn alerts_word(lang: Lang, n: usize) -> String {
    match (lang, n) {
        (Lang::En, 1) => "1 alert".to_string(),
        (Lang::En, n) => format!("{n} alerts"),
        (_, 1) => "1 alerta".to_string(),
        (_, n) => format!("{n} alertas"),
    }
}

fn counts_line(lang: Lang, c: &CategoryDigest<'_>) -> String {
    c.counts
        .iter()
        .map(|(k, n)| {
            let label = match (lang, k) {
                (Lang::PtBr, EventKind::EnteredTopN) => "entrou no top".to_string(),
                (Lang::PtBr, EventKind::LeftTopN) => "saiu do top".to_string(),
                (Lang::Es, EventKind::EnteredTopN) => "entró al top".to_string(),
                (Lang::Es, EventKind::LeftTopN) => "salió del top".to_string(),
                (Lang::En, EventKind::EnteredTopN) => "entered a top".to_string(),
                (Lang::En, EventKind::LeftTopN) => "left a top".to_string(),
                _ => kind_name(lang, *k, None).to_lowercase(),
            };
            format!("{label} {n}")
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn mover_line(lang: Lang, e: &EventItem, title: &str) -> String {
    let places = e.places.unwrap_or(0);
    let sign = if places > 0 { "+" } else { "−" };
    format!("{title} {sign}{} ({})", places.unsigned_abs(), movement(lang, e))
}

fn digest_category_text(lang: Lang, c: &CategoryDigest<'_>, esc: fn(&str) -> String, bullet: &str) -> Vec<String> {
    let info = SiteInfo::of(c.site);
    let (word, movers_label, ones_label) = match lang {
        Lang::PtBr => ("Mais vendidos", "Maiores variações", "Novo nº 1"),
        Lang::Es => ("Más vendidos", "Mayores cambios", "Nuevo n.º 1"),
        Lang::En => ("Best sellers", "Top movers", "New #1"),
    };
    let alerts = alerts_word(lang, c.total);
    let mut lines = vec![format!("{word} · {} ({}) — {alerts}", c.category, info.name), counts_line(lang, c)];
    for e in &c.number_ones {
        lines.push(format!("{bullet}{ones_label}: {}", esc(&raw_title(e))));
    }
    if !c.top_movers.is_empty() {
        lines.push(format!("{movers_label}:"));
        for e in &c.top_movers {
            lines.push(format!("{bullet}{}", mover_line(lang, e, &esc(&raw_title(e)))));
        }
    }
    lines
}

/// The Slack digest of a period: a header and one section per category (at most 48; the rest are
/// counted in a last context block).
/// The language of one message covering several categories (the Slack digest): the language of
/// most of its alerts; English when languages tie (a channel that follows several countries
/// equally) or when there is nothing in it.
pub fn digest_lang(cats: &[CategoryDigest<'_>]) -> Lang {
    let mut by: Vec<(Lang, usize)> = Vec::new();
    for c in cats {
        let l = SiteInfo::of(c.site).lang;
        match by.iter_mut().find(|(x, _)| *x == l) {
            Some((_, n)) => *n += c.total,
            None => by.push((l, c.total)),
        }
    }
    by.sort_by_key(|x| std::cmp::Reverse(x.1));
    match by.as_slice() {
        [(l, _)] => *l,
        [(l, a), (_, b), ..] if a > b => *l,
        _ => Lang::En,
    }
}

pub fn digest_slack(lang: Lang, period: &DigestPeriod, cats: &[CategoryDigest<'_>]) -> SlackMessage {
    let total: usize = cats.iter().map(|c| c.total).sum();
    let title = digest_title(lang, total, period);
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": escape::truncate(&title, 150), "emoji": true}}),
    ];
    let room = SlackMessage::MAX_BLOCKS - 2;
    for c in cats.iter().take(room) {
        let mut lines = digest_category_text(lang, c, escape::slack, "• ");
        if let Some(first) = lines.first_mut() {
            *first = format!("*{}*", escape::slack(first));
        }
        if let Some(second) = lines.get_mut(1) {
            *second = escape::slack(second);
        }
        let text = escape::truncate(&lines.join("\n"), 2900);
        let mut section = json!({"type": "section", "text": {"type": "mrkdwn", "text": text}});
        // The link goes in a button's `url` (a JSON string, not mrkdwn): nothing to escape, and a
        // long presigned URL is never cut by the text's truncation.
        if let (Some(url), Some(obj)) = (c.report_link(), section.as_object_mut()) {
            obj.insert(
                "accessory".into(),
                json!({
                    "type": "button",
                    "text": {"type": "plain_text", "text": report_button(lang), "emoji": true},
                    "url": url,
                    "action_id": format!("report-{}", c.category),
                }),
            );
        }
        blocks.push(section);
    }
    if cats.len() > room {
        let more = cats.len() - room;
        let t = match lang {
            Lang::PtBr => format!("… e mais {more} categorias"),
            Lang::Es => format!("… y {more} categorías más"),
            Lang::En => format!("… and {more} more categories"),
        };
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": t}]}));
    }
    SlackMessage { text: escape::slack(&title), blocks }
}

/// The SNS digest of one category (one message per category, so filter policies on `site` and
/// `category` apply to digests too; `event` is `digest`).
pub fn digest_sns(lang: Lang, period: &DigestPeriod, c: &CategoryDigest<'_>, dedup_id: &str) -> SnsMessage {
    let title = digest_title(lang, c.total, period);
    let mut body = digest_category_text(lang, c, escape::email, "  - ");
    if let Some(url) = c.report_link() {
        body.push(String::new());
        body.push(report_line(lang, &url));
    }
    let email = format!("{title}\n\n{}\n", body.join("\n"));
    let alerts = alerts_word(lang, c.total);
    let sms_head = match lang {
        Lang::PtBr => format!("Resumo {}: {alerts}", c.category),
        Lang::Es => format!("Resumen {}: {alerts}", c.category),
        Lang::En => format!("Digest {}: {alerts}", c.category),
    };
    let top = c.top_movers.first().map(|e| format!("; {}", mover_line(lang, e, &escape::sms(&raw_title(e)))));
    let sms = escape::truncate(&format!("{sms_head}{}", top.unwrap_or_default()), SMS_MAX);
    let severity = c.top_movers.iter().chain(c.number_ones.iter()).map(|e| e.severity).max().unwrap_or(Severity::Info);
    SnsMessage {
        subject: escape::subject(&format!("[meli-radar] {title} · {}", c.category), SUBJECT_MAX),
        default: format!("{title}\n{}", body.join("\n")),
        email,
        sms,
        attributes: MessageAttributes {
            site: c.site.to_string(),
            category: c.category.to_string(),
            event: "digest".into(),
            product: String::new(),
            severity: severity.as_str().into(),
        },
        dedup_id: dedup_id.to_string(),
    }
}

/// The feed form of one category's digest.
pub fn digest_feed(lang: Lang, period: &DigestPeriod, c: &CategoryDigest<'_>, delivery: &str) -> FeedAlert {
    let title = digest_title(lang, c.total, period);
    let body = digest_category_text(lang, c, escape::sms, "  - ");
    FeedAlert {
        delivery: delivery.to_string(),
        site: c.site.to_string(),
        category: c.category.to_string(),
        event: "digest".into(),
        product: String::new(),
        severity: Severity::Info.as_str().into(),
        lang: lang.tag().into(),
        text: format!("{title}\n{}", body.join("\n")),
        // The report, when there is one (the console prints the link under the text).
        link: c.report_link(),
        at: keys::ts(period.to),
    }
}
