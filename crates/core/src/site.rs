//! Per-site facts used when rendering for people: language, currency and number format, web domain.

use crate::ids::SiteId;

/// The language alerts and reports are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Brazilian Portuguese, for MLB.
    PtBr,
    /// Spanish, for the Spanish-speaking sites.
    Es,
    /// English, the fallback.
    En,
}

impl Lang {
    pub fn tag(self) -> &'static str {
        match self {
            Lang::PtBr => "pt-BR",
            Lang::Es => "es",
            Lang::En => "en",
        }
    }
}

/// How a site writes money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteInfo {
    pub site: SiteId,
    pub name: &'static str,
    pub currency: &'static str,
    pub symbol: &'static str,
    pub thousands: char,
    pub decimal: char,
    /// Digits after the decimal separator that the site shows (0 for CLP, COP...).
    pub decimals: u8,
    pub lang: Lang,
    /// Web domain of the site, for product links.
    pub domain: &'static str,
}

impl SiteInfo {
    pub fn of(site: SiteId) -> SiteInfo {
        let (name, currency, symbol, thousands, decimal, decimals, lang, domain) = match site.as_str() {
            "MLB" => ("Brasil", "BRL", "R$", '.', ',', 2, Lang::PtBr, "mercadolivre.com.br"),
            "MLA" => ("Argentina", "ARS", "$", '.', ',', 2, Lang::Es, "mercadolibre.com.ar"),
            "MLM" => ("México", "MXN", "$", ',', '.', 2, Lang::Es, "mercadolibre.com.mx"),
            "MLC" => ("Chile", "CLP", "$", '.', ',', 0, Lang::Es, "mercadolibre.cl"),
            "MCO" => ("Colombia", "COP", "$", '.', ',', 0, Lang::Es, "mercadolibre.com.co"),
            "MLU" => ("Uruguay", "UYU", "$", '.', ',', 2, Lang::Es, "mercadolibre.com.uy"),
            "MPE" => ("Perú", "PEN", "S/", ',', '.', 2, Lang::Es, "mercadolibre.com.pe"),
            "MLV" => ("Venezuela", "VES", "Bs.", '.', ',', 2, Lang::Es, "mercadolibre.com.ve"),
            "MEC" => ("Ecuador", "USD", "US$", '.', ',', 2, Lang::Es, "mercadolibre.com.ec"),
            "MBO" => ("Bolivia", "BOB", "Bs", '.', ',', 2, Lang::Es, "mercadolibre.com.bo"),
            "MPY" => ("Paraguay", "PYG", "₲", '.', ',', 0, Lang::Es, "mercadolibre.com.py"),
            "MCR" => ("Costa Rica", "CRC", "₡", '.', ',', 2, Lang::Es, "mercadolibre.co.cr"),
            "MPA" => ("Panamá", "USD", "US$", ',', '.', 2, Lang::Es, "mercadolibre.com.pa"),
            "MRD" => ("República Dominicana", "DOP", "RD$", ',', '.', 2, Lang::Es, "mercadolibre.com.do"),
            "MGT" => ("Guatemala", "GTQ", "Q", ',', '.', 2, Lang::Es, "mercadolibre.com.gt"),
            "MHN" => ("Honduras", "HNL", "L", ',', '.', 2, Lang::Es, "mercadolibre.com.hn"),
            "MNI" => ("Nicaragua", "NIO", "C$", ',', '.', 2, Lang::Es, "mercadolibre.com.ni"),
            "MSV" => ("El Salvador", "USD", "US$", ',', '.', 2, Lang::Es, "mercadolibre.com.sv"),
            _ => ("?", "USD", "$", ',', '.', 2, Lang::En, "mercadolibre.com"),
        };
        SiteInfo { site, name, currency, symbol, thousands, decimal, decimals, lang, domain }
    }

    /// Formats an amount the way the site shows it: `R$ 1.299,90` on MLB, `$ 1.299,90` on MLA,
    /// `$ 1,299.90` on MLM. Non-finite amounts print as `—`.
    pub fn format_price(&self, amount: f64) -> String {
        if !amount.is_finite() {
            return "—".to_string();
        }
        let neg = amount < 0.0;
        let scale = 10f64.powi(i32::from(self.decimals));
        // Round half away from zero on the absolute value, in integer cents.
        let cents = (amount.abs() * scale).round();
        if cents > 9.0e15 {
            return "—".to_string();
        }
        let cents = cents as u64;
        let unit = 10u64.pow(u32::from(self.decimals));
        let (whole, frac) = (cents / unit, cents % unit);
        let digits = whole.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(self.thousands);
            }
            grouped.push(ch);
        }
        let mut out = String::new();
        if neg && cents > 0 {
            out.push('-');
        }
        out.push_str(self.symbol);
        out.push(' ');
        out.push_str(&grouped);
        if self.decimals > 0 {
            out.push(self.decimal);
            out.push_str(&format!("{:0width$}", frac, width = usize::from(self.decimals)));
        }
        out
    }

    /// The public page of a catalog product or listing on this site.
    pub fn product_url(&self, id: &str) -> String {
        format!("https://www.{}/p/{}", self.domain, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_prices_like_the_sites() {
        assert_eq!(SiteInfo::of(SiteId::MLB).format_price(1299.9), "R$ 1.299,90");
        assert_eq!(SiteInfo::of(SiteId::MLA).format_price(1299.9), "$ 1.299,90");
        assert_eq!(SiteInfo::of(SiteId::MLM).format_price(1299.9), "$ 1,299.90");
        assert_eq!(SiteInfo::of(SiteId::MLB).format_price(0.5), "R$ 0,50");
        assert_eq!(SiteInfo::of(SiteId::MLB).format_price(1234567.0), "R$ 1.234.567,00");
        assert_eq!(SiteInfo::of(SiteId::parse("MLC").unwrap()).format_price(15990.4), "$ 15.990");
        assert_eq!(SiteInfo::of(SiteId::MLB).format_price(f64::NAN), "—");
    }

    #[test]
    fn languages() {
        assert_eq!(SiteInfo::of(SiteId::MLB).lang, Lang::PtBr);
        assert_eq!(SiteInfo::of(SiteId::MLM).lang, Lang::Es);
    }
}
