//! The report's own words, per language. The language is the site's, chosen exactly as for the
//! alerts ([`SiteInfo::lang`](meli_core::site::SiteInfo)); event labels and sentences come from the
//! alerts' renderer ([`meli_core::notify::render`]), so a report and an alert say the same thing.

use meli_core::site::Lang;

/// Every fixed text of a report page.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    pub best_sellers: &'static str,
    pub overview: &'static str,
    pub back: &'static str,
    pub period: &'static str,
    pub snapshots: &'static str,
    pub bump_title: &'static str,
    pub bump_note: &'static str,
    pub movers: &'static str,
    pub movers_note: &'static str,
    pub entrants: &'static str,
    pub entrants_note: &'static str,
    pub prices: &'static str,
    pub volatility: &'static str,
    pub volatility_note: &'static str,
    pub mean: &'static str,
    pub events: &'static str,
    pub no_events: &'static str,
    pub more_events: &'static str,
    pub no_data: &'static str,
    pub none: &'static str,
    pub col_position: &'static str,
    pub col_product: &'static str,
    pub col_change: &'static str,
    pub col_history: &'static str,
    pub col_price: &'static str,
    pub col_when: &'static str,
    pub col_event: &'static str,
    pub col_category: &'static str,
    pub col_volatility: &'static str,
    pub col_biggest_mover: &'static str,
    pub col_events: &'static str,
    pub first: &'static str,
    pub last: &'static str,
    pub out: &'static str,
    pub generated: &'static str,
    /// chrono formats: a full date-time, and the charts' tick labels.
    pub datetime_format: &'static str,
    pub tick_format: &'static str,
}

pub fn labels(lang: Lang) -> Labels {
    match lang {
        Lang::PtBr => Labels {
            best_sellers: "Mais vendidos",
            overview: "Visão geral",
            back: "← Visão geral do site",
            period: "Período",
            snapshots: "listas",
            bump_title: "Histórico de posições do top 20 atual",
            bump_note: "Uma linha por produto, nº 1 no alto; em cor, as maiores variações do período. Falhas na linha: fora da lista.",
            movers: "Maiores variações",
            movers_note: "Posição no início do período → posição atual.",
            entrants: "Novos na lista",
            entrants_note: "No top atual, mas fora da lista no início do período.",
            prices: "Preço do top 10",
            volatility: "Volatilidade da categoria",
            volatility_note: "Parcela das posições que mudaram de ocupante em relação à lista anterior.",
            mean: "média do período",
            events: "Eventos do período",
            no_events: "Nenhum evento no período.",
            more_events: "eventos mais antigos não listados",
            no_data: "Nenhuma lista armazenada para esta categoria no período.",
            none: "nenhum",
            col_position: "Pos.",
            col_product: "Produto",
            col_change: "Variação",
            col_history: "Posições",
            col_price: "Preço",
            col_when: "Quando (UTC)",
            col_event: "Evento",
            col_category: "Categoria",
            col_volatility: "Volatilidade",
            col_biggest_mover: "Maior variação",
            col_events: "Eventos",
            first: "início",
            last: "atual",
            out: "fora",
            generated: "Gerado pelo meli-radar a partir das listas oficiais de mais vendidos.",
            datetime_format: "%d/%m/%Y %H:%M",
            tick_format: "%d/%m %Hh",
        },
        Lang::Es => Labels {
            best_sellers: "Más vendidos",
            overview: "Resumen",
            back: "← Resumen del sitio",
            period: "Período",
            snapshots: "listas",
            bump_title: "Historial de posiciones del top 20 actual",
            bump_note: "Una línea por producto, n.º 1 arriba; en color, los mayores cambios del período. Cortes en la línea: fuera de la lista.",
            movers: "Mayores cambios",
            movers_note: "Posición al inicio del período → posición actual.",
            entrants: "Nuevos en la lista",
            entrants_note: "En el top actual, pero fuera de la lista al inicio del período.",
            prices: "Precio del top 10",
            volatility: "Volatilidad de la categoría",
            volatility_note: "Proporción de posiciones que cambiaron de ocupante respecto de la lista anterior.",
            mean: "promedio del período",
            events: "Eventos del período",
            no_events: "Ningún evento en el período.",
            more_events: "eventos más antiguos no listados",
            no_data: "No hay listas guardadas para esta categoría en el período.",
            none: "ninguno",
            col_position: "Pos.",
            col_product: "Producto",
            col_change: "Cambio",
            col_history: "Posiciones",
            col_price: "Precio",
            col_when: "Cuándo (UTC)",
            col_event: "Evento",
            col_category: "Categoría",
            col_volatility: "Volatilidad",
            col_biggest_mover: "Mayor cambio",
            col_events: "Eventos",
            first: "inicio",
            last: "actual",
            out: "fuera",
            generated: "Generado por meli-radar a partir de las listas oficiales de más vendidos.",
            datetime_format: "%d/%m/%Y %H:%M",
            tick_format: "%d/%m %Hh",
        },
        Lang::En => Labels {
            best_sellers: "Best sellers",
            overview: "Overview",
            back: "← Site overview",
            period: "Period",
            snapshots: "lists",
            bump_title: "Rank history of the current top 20",
            bump_note: "One line per product, #1 at the top; in color, the period's biggest movers. Gaps: out of the list.",
            movers: "Top movers",
            movers_note: "Position at the start of the period → current position.",
            entrants: "New entrants",
            entrants_note: "In the current top, but not in the list at the start of the period.",
            prices: "Price of the top 10",
            volatility: "Category volatility",
            volatility_note: "Share of positions whose occupant changed against the previous list.",
            mean: "period mean",
            events: "Events of the period",
            no_events: "No events in the period.",
            more_events: "older events not listed",
            no_data: "No list stored for this category in the period.",
            none: "none",
            col_position: "#",
            col_product: "Product",
            col_change: "Change",
            col_history: "Positions",
            col_price: "Price",
            col_when: "When (UTC)",
            col_event: "Event",
            col_category: "Category",
            col_volatility: "Volatility",
            col_biggest_mover: "Biggest mover",
            col_events: "Events",
            first: "start",
            last: "now",
            out: "out",
            generated: "Made by meli-radar from the official best-seller lists.",
            datetime_format: "%Y-%m-%d %H:%M",
            tick_format: "%m-%d %Hh",
        },
    }
}

/// A share as a percentage in the language's style (`12,5%` in pt-BR and es, `12.5%` in en).
pub fn percent(lang: Lang, share: f64) -> String {
    let s = format!("{:.1}", share * 100.0);
    match lang {
        Lang::En => format!("{s}%"),
        Lang::PtBr | Lang::Es => format!("{}%", s.replace('.', ",")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_follow_the_language() {
        assert_eq!(percent(Lang::PtBr, 0.125), "12,5%");
        assert_eq!(percent(Lang::Es, 0.0), "0,0%");
        assert_eq!(percent(Lang::En, 1.0), "100.0%");
    }

    #[test]
    fn every_language_has_its_own_words() {
        assert_eq!(labels(Lang::PtBr).best_sellers, "Mais vendidos");
        assert_eq!(labels(Lang::Es).best_sellers, "Más vendidos");
        assert_eq!(labels(Lang::En).best_sellers, "Best sellers");
    }
}
