//! Static facts of the simulated market: sites, category trees and product templates.
//!
//! Category ids and names follow the real ones where they are known (meli-api.md §7.2) and look
//! real elsewhere. Names are in the site's language.

/// Language of a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// pt-BR.
    Pt,
    /// Spanish.
    Es,
}

/// One country site.
#[derive(Debug)]
pub struct SiteInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub currency: &'static str,
    pub lang: Lang,
    /// `mercadolivre.com.br`, `mercadolibre.com.ar`, ...
    pub domain: &'static str,
    /// Host of the keyword listing pages used by `/trends` URLs.
    pub list_host: &'static str,
    /// Local price of one BRL of the templates.
    pub price_factor: f64,
    /// Whether prices carry cents.
    pub cents: bool,
    /// Units sold per hour by the best-selling product of a typical list.
    pub top_rate: f64,
    pub cities: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

pub static SITES: &[SiteInfo] = &[
    SiteInfo {
        id: "MLB",
        name: "Brasil",
        currency: "BRL",
        lang: Lang::Pt,
        domain: "mercadolivre.com.br",
        list_host: "lista.mercadolivre.com.br",
        price_factor: 1.0,
        cents: true,
        top_rate: 24.0,
        cities: &[
            ("TUxCQ1NBTzUwNjM", "São Paulo", "BR-SP", "São Paulo"),
            ("TUxCQ1JJTzM2OTc", "Rio de Janeiro", "BR-RJ", "Rio de Janeiro"),
            ("TUxCQ0JFTDU5NzA", "Belo Horizonte", "BR-MG", "Minas Gerais"),
            ("TUxCQ0NVUjc4NjI", "Curitiba", "BR-PR", "Paraná"),
            ("TUxCQ0dVQTMxMTk", "Guarulhos", "BR-SP", "São Paulo"),
        ],
    },
    SiteInfo {
        id: "MLA",
        name: "Argentina",
        currency: "ARS",
        lang: Lang::Es,
        domain: "mercadolibre.com.ar",
        list_host: "listado.mercadolibre.com.ar",
        price_factor: 260.0,
        cents: false,
        top_rate: 14.0,
        cities: &[
            ("TUxBQ1BBTGE3ZTEw", "Palermo", "AR-C", "Capital Federal"),
            ("TUxBQ0NBQmQ4NDI3", "Caballito", "AR-C", "Capital Federal"),
            ("TUxBQ0NPUmE5MjY0", "Córdoba", "AR-X", "Córdoba"),
            ("TUxBQ1JPU2UxMDQw", "Rosario", "AR-S", "Santa Fe"),
        ],
    },
    SiteInfo {
        id: "MLM",
        name: "Mexico",
        currency: "MXN",
        lang: Lang::Es,
        domain: "mercadolibre.com.mx",
        list_host: "listado.mercadolibre.com.mx",
        price_factor: 3.6,
        cents: false,
        top_rate: 12.0,
        cities: &[
            ("TUxNQ0NVQTk4NjA", "Cuauhtémoc", "MX-CMX", "Distrito Federal"),
            ("TUxNQ0dVQTI4NzE", "Guadalajara", "MX-JAL", "Jalisco"),
            ("TUxNQ01PTjQ1NDc", "Monterrey", "MX-NLE", "Nuevo León"),
            ("TUxNQ1BVRTY0MDk", "Puebla", "MX-PUE", "Puebla"),
        ],
    },
];

/// A category definition: `(id, name, parent id, has a best-seller list, product template)`.
pub type CatDef = (&'static str, &'static str, Option<&'static str>, bool, Option<Tpl>);

/// The category trees. Leaves with a template carry products; a category "has a list" when
/// flagged (roots with a list aggregate their subtree).
pub static CATEGORIES: &[(&str, &[CatDef])] = &[
    (
        "MLB",
        &[
            ("MLB1051", "Celulares e Telefones", None, false, None),
            ("MLB1055", "Celulares e Smartphones", Some("MLB1051"), true, Some(Tpl::Phones)),
            ("MLB3813", "Acessórios para Celulares", Some("MLB1051"), false, None),
            ("MLB432825", "Carregadores", Some("MLB3813"), true, Some(Tpl::Chargers)),
            ("MLB5033", "Capinhas e Películas", Some("MLB3813"), false, None),
            ("MLB1000", "Eletrônicos, Áudio e Vídeo", None, true, None),
            ("MLB1002", "Televisores", Some("MLB1000"), true, Some(Tpl::Tvs)),
            ("MLB196208", "Fones de Ouvido", Some("MLB1000"), true, Some(Tpl::Headphones)),
            ("MLB3697", "Áudio", Some("MLB1000"), false, None),
            ("MLB3835", "Caixas de Som", Some("MLB3697"), true, Some(Tpl::Speakers)),
            ("MLB1010", "Home Theaters", Some("MLB3697"), false, None),
            ("MLB1648", "Informática", None, false, None),
            ("MLB1652", "Notebooks", Some("MLB1648"), true, Some(Tpl::Notebooks)),
            ("MLB1714", "Periféricos para PC", Some("MLB1648"), false, None),
            ("MLB5726", "Eletrodomésticos", None, true, None),
            ("MLB252358", "Ar e Ventilação", Some("MLB5726"), true, Some(Tpl::Fans)),
            ("MLB270287", "Geladeiras", Some("MLB5726"), true, Some(Tpl::Fridges)),
            ("MLB1580", "Pequenos Eletrodomésticos", Some("MLB5726"), false, None),
            ("MLB1246", "Beleza e Cuidado Pessoal", None, false, None),
            ("MLB1263", "Cuidados com o Cabelo", Some("MLB1246"), false, None),
            ("MLB264788", "Secadores", Some("MLB1263"), true, Some(Tpl::HairDryers)),
            ("MLB199407", "Perfumes", Some("MLB1246"), false, None),
            ("MLB1144", "Games", None, false, None),
            ("MLB186456", "Consoles", Some("MLB1144"), true, Some(Tpl::Consoles)),
            ("MLB263532", "Ferramentas", None, false, None),
            ("MLB263533", "Ferramentas Elétricas", Some("MLB263532"), false, None),
            ("MLB274700", "Furadeiras e Parafusadeiras", Some("MLB263533"), true, Some(Tpl::Drills)),
            ("MLB1430", "Calçados, Roupas e Bolsas", None, false, None),
            ("MLB108803", "Casacos, Jaquetas e Coletes", Some("MLB1430"), false, None),
            ("MLB108806", "Suéters", Some("MLB108803"), false, None),
            ("MLB1574", "Casa, Móveis e Decoração", None, false, None),
            ("MLB1618", "Cozinha", Some("MLB1574"), false, None),
        ],
    ),
    (
        "MLA",
        &[
            ("MLA1051", "Celulares y Teléfonos", None, false, None),
            ("MLA1055", "Celulares y Smartphones", Some("MLA1051"), true, Some(Tpl::Phones)),
            ("MLA3813", "Accesorios para Celulares", Some("MLA1051"), false, None),
            ("MLA1000", "Electrónica, Audio y Video", None, true, None),
            ("MLA1002", "Televisores", Some("MLA1000"), true, Some(Tpl::Tvs)),
            ("MLA3697", "Auriculares", Some("MLA1000"), true, Some(Tpl::Headphones)),
            ("MLA1648", "Computación", None, false, None),
            ("MLA1652", "Notebooks", Some("MLA1648"), true, Some(Tpl::Notebooks)),
            ("MLA5726", "Electrodomésticos y Aires Ac.", None, false, None),
            ("MLA398582", "Heladeras", Some("MLA5726"), true, Some(Tpl::Fridges)),
            ("MLA1580", "Ventiladores", Some("MLA5726"), false, None),
            ("MLA1144", "Consolas y Videojuegos", None, false, None),
            ("MLA438566", "Consolas", Some("MLA1144"), true, Some(Tpl::Consoles)),
            ("MLA1246", "Belleza y Cuidado Personal", None, false, None),
            ("MLA1459", "Inmuebles", None, false, None),
            ("MLA1466", "Casas", Some("MLA1459"), false, None),
            ("MLA79242", "Locales", Some("MLA1459"), false, None),
            ("MLA79243", "Alquiler", Some("MLA79242"), false, None),
            ("MLA1953", "Otras categorías", None, false, None),
            ("MLA3530", "Otros", Some("MLA1953"), false, None),
        ],
    ),
    (
        "MLM",
        &[
            ("MLM1051", "Celulares y Telefonía", None, false, None),
            ("MLM1055", "Celulares y Smartphones", Some("MLM1051"), true, Some(Tpl::Phones)),
            ("MLM126793", "Smartwatches", Some("MLM1051"), true, Some(Tpl::Smartwatches)),
            ("MLM1000", "Electrónica, Audio y Video", None, true, None),
            ("MLM1002", "Televisores", Some("MLM1000"), true, Some(Tpl::Tvs)),
            ("MLM3697", "Audífonos", Some("MLM1000"), false, None),
            ("MLM1648", "Computación", None, false, None),
            ("MLM1652", "Laptops", Some("MLM1648"), true, Some(Tpl::Notebooks)),
            ("MLM1144", "Videojuegos", None, false, None),
            ("MLM123384", "Consolas", Some("MLM1144"), true, Some(Tpl::Consoles)),
            ("MLM1574", "Hogar, Muebles y Jardín", None, false, None),
            ("MLM1246", "Belleza y Cuidado Personal", None, false, None),
        ],
    ),
];

/// About three categories with lists per site, for the demo.
pub fn default_demo_categories() -> Vec<(String, String)> {
    [
        ("MLB", "MLB1055"),
        ("MLB", "MLB1002"),
        ("MLB", "MLB1652"),
        ("MLA", "MLA1055"),
        ("MLA", "MLA1002"),
        ("MLA", "MLA1652"),
        ("MLM", "MLM1055"),
        ("MLM", "MLM126793"),
        ("MLM", "MLM1652"),
    ]
    .iter()
    .map(|(s, c)| (s.to_string(), c.to_string()))
    .collect()
}

/// Product templates (one per product domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tpl {
    Phones,
    Chargers,
    Tvs,
    Headphones,
    Speakers,
    Notebooks,
    Fans,
    Fridges,
    HairDryers,
    Consoles,
    Drills,
    Smartwatches,
}

/// A brand: name, BRAND attribute value id, models.
pub type Brand = (&'static str, &'static str, &'static [&'static str]);

/// What a template gives a product.
#[derive(Debug)]
pub struct Template {
    pub domain: &'static str,
    pub noun_pt: &'static str,
    pub noun_es: &'static str,
    pub brands: &'static [Brand],
    /// Price range in BRL.
    pub price: (f64, f64),
    /// Variant picker: attribute id, name pt, name es, values.
    pub picker: (&'static str, &'static str, &'static str, &'static [&'static str]),
    /// Relative volume of the domain (units sold scale).
    pub volume: f64,
    /// Generic search words of the domain (for `/trends`).
    pub words: &'static [&'static str],
}

const COLORS: &[&str] = &["Preto", "Azul", "Branco", "Verde", "Rosa"];

impl Tpl {
    pub fn template(self) -> &'static Template {
        match self {
            Tpl::Phones => &Template {
                domain: "CELLPHONES",
                noun_pt: "Celular",
                noun_es: "Celular",
                brands: &[
                    ("Samsung", "206", &["Galaxy A15", "Galaxy A25", "Galaxy A55", "Galaxy S24", "Galaxy M35"]),
                    ("Apple", "9344", &["iPhone 13", "iPhone 15", "iPhone 16", "iPhone 16 Pro"]),
                    ("Motorola", "2503", &["Moto G24", "Moto G54", "Moto G84", "Edge 50 Fusion"]),
                    ("Xiaomi", "59387", &["Redmi 13C", "Redmi Note 13", "Poco X6", "Redmi Note 13 Pro"]),
                    ("Realme", "7287383", &["C55", "11 Pro", "Note 50"]),
                ],
                price: (799.0, 8999.0),
                picker: ("INTERNAL_MEMORY", "Memória interna", "Memoria interna", &["128 GB", "256 GB", "512 GB"]),
                volume: 1.0,
                words: &["celular", "smartphone", "celular 5g", "celular barato", "celular 256gb"],
            },
            Tpl::Chargers => &Template {
                domain: "CELLPHONE_CHARGERS",
                noun_pt: "Carregador",
                noun_es: "Cargador",
                brands: &[
                    ("Samsung", "206", &["25W USB-C", "45W Super Fast", "Wireless 15W"]),
                    ("Apple", "9344", &["20W USB-C", "MagSafe"]),
                    ("Baseus", "3218531", &["GaN 65W", "Turbo 30W", "Power Bank 20000"]),
                    ("Anker", "11154", &["Nano 20W", "PowerCore 10000"]),
                    ("Xiaomi", "59387", &["33W Turbo", "67W HyperCharge"]),
                ],
                price: (39.0, 399.0),
                picker: ("COLOR", "Cor", "Color", COLORS),
                volume: 1.3,
                words: &["carregador", "carregador turbo", "fonte usb c", "power bank"],
            },
            Tpl::Tvs => &Template {
                domain: "TELEVISIONS",
                noun_pt: "Smart TV",
                noun_es: "Smart TV",
                brands: &[
                    ("Samsung", "206", &["Crystal UHD CU7700", "QLED Q60D", "Neo QLED QN90D"]),
                    ("LG", "2532", &["UHD UR8750", "OLED evo C4", "NanoCell NANO80"]),
                    ("TCL", "66", &["P755 4K", "C655 QLED", "S5400 FHD"]),
                    ("Philco", "1220", &["PTV50 4K", "PTV32 HD"]),
                    ("Sony", "2524", &["Bravia X77L", "Bravia 7"]),
                ],
                price: (1099.0, 9999.0),
                picker: (
                    "DISPLAY_SIZE",
                    "Tamanho da tela",
                    "Tamaño de la pantalla",
                    &["43 \"", "50 \"", "55 \"", "65 \""],
                ),
                volume: 0.5,
                words: &["smart tv", "tv 4k", "televisao", "tv 50 polegadas", "tv 32"],
            },
            Tpl::Headphones => &Template {
                domain: "HEADPHONES",
                noun_pt: "Fone de Ouvido",
                noun_es: "Auriculares",
                brands: &[
                    ("JBL", "14810", &["Tune 520BT", "Wave Buds", "Tune Flex", "Live 660NC"]),
                    ("Sony", "2524", &["WH-CH520", "WF-C700N", "WH-1000XM5"]),
                    ("QCY", "7458339", &["T13", "H3 ANC", "Melobuds"]),
                    ("Edifier", "11432", &["W820NB", "X3"]),
                    ("Apple", "9344", &["AirPods 4", "AirPods Pro 2"]),
                ],
                price: (79.0, 2499.0),
                picker: ("COLOR", "Cor", "Color", COLORS),
                volume: 1.1,
                words: &["fone bluetooth", "fone de ouvido", "fone sem fio", "headset"],
            },
            Tpl::Speakers => &Template {
                domain: "SPEAKERS",
                noun_pt: "Caixa de Som",
                noun_es: "Parlante",
                brands: &[
                    ("JBL", "14810", &["Go 4", "Flip 6", "Charge 5", "Boombox 3", "PartyBox Encore"]),
                    ("Sony", "2524", &["SRS-XB100", "ULT Field 1"]),
                    ("Philco", "1220", &["PCX5000", "PBS50"]),
                    ("Amazon", "11137", &["Echo Dot 5", "Echo Pop"]),
                ],
                price: (149.0, 2999.0),
                picker: ("COLOR", "Cor", "Color", COLORS),
                volume: 0.8,
                words: &["caixa de som", "caixa bluetooth", "alexa", "echo dot"],
            },
            Tpl::Notebooks => &Template {
                domain: "NOTEBOOKS",
                noun_pt: "Notebook",
                noun_es: "Notebook",
                brands: &[
                    ("Lenovo", "2515", &["IdeaPad 1", "IdeaPad Slim 3", "LOQ 15"]),
                    ("Dell", "2508", &["Inspiron 15", "Vostro 3520", "G15"]),
                    ("Acer", "2498", &["Aspire 5", "Nitro V15", "Aspire Go 15"]),
                    ("ASUS", "2499", &["Vivobook 15", "TUF Gaming F15"]),
                    ("Samsung", "206", &["Galaxy Book4", "Galaxy Book3"]),
                ],
                price: (1899.0, 8999.0),
                picker: ("RAM", "Memória RAM", "Memoria RAM", &["8 GB", "16 GB", "32 GB"]),
                volume: 0.45,
                words: &["notebook", "notebook gamer", "notebook i5", "laptop"],
            },
            Tpl::Fans => &Template {
                domain: "FANS",
                noun_pt: "Ventilador",
                noun_es: "Ventilador",
                brands: &[
                    ("Mondial", "1225", &["Turbo VTX-40", "Maxi Power NV-15", "Super Power VSP-30"]),
                    ("Arno", "1194", &["Ultra Silence Force", "X-Treme 7"]),
                    ("Britânia", "1203", &["BVT400", "Maxx Force"]),
                    ("Wap", "7301", &["Rajada Turbo", "Flow Turbo"]),
                ],
                price: (99.0, 499.0),
                picker: ("VOLTAGE", "Voltagem", "Voltaje", &["110V", "220V"]),
                volume: 0.9,
                words: &["ventilador", "ventilador de teto", "climatizador", "ar condicionado"],
            },
            Tpl::Fridges => &Template {
                domain: "REFRIGERATORS",
                noun_pt: "Geladeira",
                noun_es: "Heladera",
                brands: &[
                    ("Brastemp", "1201", &["Frost Free Duplex 375L", "Inverse 443L"]),
                    ("Electrolux", "1213", &["Frost Free 310L", "Inverter IF56", "DB44"]),
                    ("Consul", "1208", &["Frost Free 340L", "CRB39"]),
                    ("Samsung", "206", &["Bespoke 4 Portas", "Inverse RL4353"]),
                    ("Midea", "11211", &["MD-RT468", "Side by Side 528L"]),
                ],
                price: (2199.0, 11999.0),
                picker: ("VOLTAGE", "Voltagem", "Voltaje", &["110V", "220V"]),
                volume: 0.3,
                words: &["geladeira", "geladeira frost free", "frigobar", "refrigerador"],
            },
            Tpl::HairDryers => &Template {
                domain: "HAIR_DRYERS",
                noun_pt: "Secador de Cabelo",
                noun_es: "Secador de Pelo",
                brands: &[
                    ("Taiff", "7412", &["Fox Ion 3", "Style 2000W", "Titanium 2100"]),
                    ("Philco", "1220", &["PSC05", "Ceramic Ion"]),
                    ("Gama", "7455", &["Bellissima Ion", "Stylish 2200"]),
                    ("Mondial", "1225", &["SC-10 Black", "Max Travel"]),
                ],
                price: (69.0, 699.0),
                picker: ("VOLTAGE", "Voltagem", "Voltaje", &["110V", "220V"]),
                volume: 0.7,
                words: &["secador de cabelo", "secador", "escova secadora", "chapinha"],
            },
            Tpl::Consoles => &Template {
                domain: "GAME_CONSOLES",
                noun_pt: "Console",
                noun_es: "Consola",
                brands: &[
                    ("Sony", "2524", &["PlayStation 5 Slim", "PlayStation 5 Pro", "PlayStation Portal"]),
                    ("Microsoft", "2519", &["Xbox Series S", "Xbox Series X"]),
                    ("Nintendo", "2524111", &["Switch OLED", "Switch Lite", "Switch 2"]),
                ],
                price: (1299.0, 6999.0),
                picker: ("COLOR", "Cor", "Color", COLORS),
                volume: 0.35,
                words: &["ps5", "xbox", "nintendo switch", "video game", "console"],
            },
            Tpl::Drills => &Template {
                domain: "DRILLS",
                noun_pt: "Furadeira",
                noun_es: "Taladro",
                brands: &[
                    ("Bosch", "1190", &["GSB 550", "GSR 120-LI", "GSB 13 RE"]),
                    ("Makita", "1215", &["HP1640", "DF333DWYE"]),
                    ("Black+Decker", "11126", &["TM500", "LD12SP"]),
                    ("Vonder", "9090", &["FIV 650", "PIV 1200"]),
                    ("WORX", "11155", &["WX176"]),
                ],
                price: (129.0, 1299.0),
                picker: ("VOLTAGE", "Voltagem", "Voltaje", &["110V", "220V", "Bivolt"]),
                volume: 0.6,
                words: &["furadeira", "parafusadeira", "furadeira de impacto", "kit ferramentas"],
            },
            Tpl::Smartwatches => &Template {
                domain: "SMARTWATCHES",
                noun_pt: "Smartwatch",
                noun_es: "Smartwatch",
                brands: &[
                    ("Apple", "9344", &["Watch SE", "Watch Series 10"]),
                    ("Amazfit", "7312244", &["Bip 5", "GTS 4 Mini", "Active 2"]),
                    ("Xiaomi", "59387", &["Smart Band 9", "Redmi Watch 5"]),
                    ("Samsung", "206", &["Galaxy Watch7", "Galaxy Fit3"]),
                    ("Huawei", "7380", &["Watch Fit 3", "Band 9"]),
                ],
                price: (199.0, 3999.0),
                picker: ("COLOR", "Cor", "Color", COLORS),
                volume: 0.8,
                words: &["smartwatch", "reloj inteligente", "smart band", "apple watch"],
            },
        }
    }
}

/// Hostile strings for the `hostile` scenario: titles.
pub static HOSTILE_TITLES: &[&str] = &[
    "<!channel> Oferta relâmpago <!here> @everyone",
    "<script>alert(1)</script> Celular \"Premium\" 'Edição'",
    "*bold* _italic_ ~strike~ `code` > quote <https://evil.example|clique aqui>",
    "Tom &amp; Jerry &lt;b&gt;Kit&lt;/b&gt; & <b>Ofertão</b>",
    "\u{202E}Celular مرحبا بالعالم שלום עולם \u{202C} RTL",
    "🔥📱 Promoção 💯🚀 Frete Grátis ✅ 👨‍👩‍👧‍👦",
];

/// Hostile brands for the `hostile` scenario.
pub static HOSTILE_BRANDS: &[&str] = &["<b>Marca</b>", "&amp;Co", "*Brand*", "<@U0123ABCD>", "Ñandú ☂ \u{202E}RTL"];
