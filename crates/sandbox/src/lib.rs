//! `meli-sandbox`: a simulated Mercado Libre marketplace speaking the api.mercadolibre.com HTTP API.
