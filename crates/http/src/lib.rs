//! `meli-http`: the Mercado Libre API client (auth, rate limit, retries, decoders) and the Slack webhook publisher.
