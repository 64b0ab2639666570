//! OAuth 2.0 as the real `/oauth/token`: authorization codes (handed out by
//! `/_sandbox/authorize`), access tokens that expire in simulated time, single-use refresh tokens
//! ("only the latest refresh token generated is valid") and `client_credentials`.
//!
//! Tokens are drawn from a ChaCha stream seeded by the sandbox seed, so a run is reproducible.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::errors::ApiError;
use crate::market::str_hash;

/// Who an access token belongs to.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub client_id: String,
    pub user_id: u64,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug)]
struct CodeRec {
    client_id: String,
    user_id: u64,
    redirect_uri: Option<String>,
    expires_at: DateTime<Utc>,
}

#[derive(Debug)]
struct RefreshRec {
    client_id: String,
    user_id: u64,
    expires_at: DateTime<Utc>,
    used: bool,
}

/// The token tables.
#[derive(Debug)]
pub struct AuthStore {
    rng: ChaCha8Rng,
    access: HashMap<String, TokenInfo>,
    codes: HashMap<String, CodeRec>,
    refresh: HashMap<String, RefreshRec>,
    /// Latest refresh token per (client, user): older ones stop working when a new one is issued.
    latest_refresh: HashMap<(String, u64), String>,
}

/// The parameters of a `POST /oauth/token` (form-encoded body).
#[derive(Debug, Default, serde::Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub refresh_token: Option<String>,
    pub code_verifier: Option<String>,
}

/// The app credentials and rules the store checks against.
#[derive(Debug, Clone)]
pub struct AppRules<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub allow_client_credentials: bool,
    pub user_id: u64,
    pub ttl: Duration,
}

fn invalid_grant() -> ApiError {
    ApiError::OAuth {
        error: "invalid_grant",
        description:
            "Error validating grant. Your authorization code or refresh token may be expired or it was already used"
                .to_string(),
    }
}

fn oauth(error: &'static str, description: &str) -> ApiError {
    ApiError::OAuth { error, description: description.to_string() }
}

impl AuthStore {
    pub fn new(seed: u64) -> Self {
        AuthStore {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0xA07B_0A07),
            access: HashMap::new(),
            codes: HashMap::new(),
            refresh: HashMap::new(),
            latest_refresh: HashMap::new(),
        }
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from_digit(self.rng.gen_range(0..16), 16).unwrap_or('0')).collect()
    }

    /// Hands out a one-time authorization code (stands in for the browser step).
    pub fn authorize(
        &mut self,
        rules: &AppRules<'_>,
        client_id: &str,
        redirect_uri: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        if client_id != rules.client_id {
            return Err(oauth("invalid_client", "invalid client_id"));
        }
        let code = format!("TG-{}-{}", self.hex(24), rules.user_id);
        self.codes.insert(
            code.clone(),
            CodeRec {
                client_id: client_id.to_string(),
                user_id: rules.user_id,
                redirect_uri,
                expires_at: now + Duration::minutes(10),
            },
        );
        Ok(code)
    }

    /// Serves `POST /oauth/token`.
    pub fn token(&mut self, rules: &AppRules<'_>, req: &TokenRequest, now: DateTime<Utc>) -> Result<Value, ApiError> {
        let grant = req.grant_type.as_deref().unwrap_or("");
        let client_id = req.client_id.as_deref().unwrap_or("");
        let secret = req.client_secret.as_deref().unwrap_or("");
        if !matches!(grant, "authorization_code" | "refresh_token" | "client_credentials") {
            return Err(oauth("unsupported_grant_type", "the grant_type is not supported"));
        }
        if client_id.is_empty() || secret.is_empty() {
            return Err(oauth("invalid_request", "client_id and client_secret are required"));
        }
        if client_id != rules.client_id || secret != rules.client_secret {
            return Err(oauth("invalid_client", "invalid client_id or client_secret"));
        }
        match grant {
            "authorization_code" => {
                let code = req.code.as_deref().ok_or_else(|| oauth("invalid_request", "code is required"))?;
                let rec = self.codes.remove(code).ok_or_else(invalid_grant)?;
                if rec.expires_at <= now || rec.client_id != client_id {
                    return Err(invalid_grant());
                }
                if let Some(expected) = &rec.redirect_uri {
                    if req.redirect_uri.as_deref() != Some(expected.as_str()) {
                        return Err(invalid_grant());
                    }
                }
                Ok(self.issue(rules, client_id, rec.user_id, now, true))
            }
            "refresh_token" => {
                let token = req
                    .refresh_token
                    .as_deref()
                    .ok_or_else(|| oauth("invalid_request", "refresh_token is required"))?;
                let rec = self.refresh.get_mut(token).ok_or_else(invalid_grant)?;
                if rec.used || rec.expires_at <= now || rec.client_id != client_id {
                    return Err(invalid_grant());
                }
                rec.used = true;
                let user_id = rec.user_id;
                Ok(self.issue(rules, client_id, user_id, now, true))
            }
            _ => {
                if !rules.allow_client_credentials {
                    return Err(oauth("unauthorized_client", "the client is not authorized to use client_credentials"));
                }
                Ok(self.issue(rules, client_id, rules.user_id, now, false))
            }
        }
    }

    fn issue(
        &mut self,
        rules: &AppRules<'_>,
        client_id: &str,
        user_id: u64,
        now: DateTime<Utc>,
        with_refresh: bool,
    ) -> Value {
        let app_num = 1_000_000_000_000_000 + str_hash(client_id) % 8_999_999_999_999_999;
        let access = format!("APP_USR-{app_num}-{}-{}-{user_id}", now.format("%m%d%H"), self.hex(32));
        self.access.insert(
            access.clone(),
            TokenInfo { client_id: client_id.to_string(), user_id, expires_at: now + rules.ttl },
        );
        let mut body = json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": rules.ttl.num_seconds(),
            "scope": if with_refresh { "offline_access read write" } else { "read write" },
            "user_id": user_id,
        });
        if with_refresh {
            let refresh = format!("TG-{}-{user_id}", self.hex(24));
            let key = (client_id.to_string(), user_id);
            if let Some(old) = self.latest_refresh.insert(key, refresh.clone()) {
                if let Some(rec) = self.refresh.get_mut(&old) {
                    rec.used = true;
                }
            }
            self.refresh.insert(
                refresh.clone(),
                RefreshRec {
                    client_id: client_id.to_string(),
                    user_id,
                    expires_at: now + Duration::days(180),
                    used: false,
                },
            );
            body["refresh_token"] = Value::String(refresh);
        }
        body
    }

    /// Checks a bearer token at `now`.
    pub fn check(&self, token: &str, now: DateTime<Utc>) -> Result<TokenInfo, ApiError> {
        if !well_formed(token) {
            return Err(ApiError::MalformedToken(token.chars().take(64).collect()));
        }
        match self.access.get(token) {
            Some(info) if info.expires_at > now => Ok(info.clone()),
            _ => Err(ApiError::InvalidToken),
        }
    }
}

/// `APP_USR-<app>-<MMDDHH>-<hex>-<user>` (the shape of real access tokens).
fn well_formed(token: &str) -> bool {
    let parts: Vec<&str> = token.split('-').collect();
    parts.len() == 5
        && parts[0] == "APP_USR"
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[2].bytes().all(|b| b.is_ascii_digit())
        && parts[3].bytes().all(|b| b.is_ascii_hexdigit())
        && parts[4].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AppRules<'static> {
        AppRules {
            client_id: "app",
            client_secret: "secret",
            allow_client_credentials: true,
            user_id: 7,
            ttl: Duration::hours(6),
        }
    }

    #[test]
    fn refresh_tokens_are_single_use_and_only_the_latest_works() {
        let mut s = AuthStore::new(1);
        let now = crate::config::default_start();
        let code = s.authorize(&rules(), "app", None, now).unwrap();
        let req = |grant: &str, code: Option<&str>, rt: Option<&str>| TokenRequest {
            grant_type: Some(grant.into()),
            client_id: Some("app".into()),
            client_secret: Some("secret".into()),
            code: code.map(Into::into),
            refresh_token: rt.map(Into::into),
            ..Default::default()
        };
        let first = s.token(&rules(), &req("authorization_code", Some(&code), None), now).unwrap();
        // The code is single use too.
        assert!(s.token(&rules(), &req("authorization_code", Some(&code), None), now).is_err());
        let rt1 = first["refresh_token"].as_str().unwrap().to_string();
        let second = s.token(&rules(), &req("refresh_token", None, Some(&rt1)), now).unwrap();
        let reuse = s.token(&rules(), &req("refresh_token", None, Some(&rt1)), now).unwrap_err();
        assert!(matches!(reuse, ApiError::OAuth { error: "invalid_grant", .. }));
        let rt2 = second["refresh_token"].as_str().unwrap();
        assert!(s.token(&rules(), &req("refresh_token", None, Some(rt2)), now).is_ok());
        let at = second["access_token"].as_str().unwrap();
        assert!(s.check(at, now).is_ok());
        assert_eq!(s.check(at, now + Duration::hours(7)).unwrap_err(), ApiError::InvalidToken);
        assert!(matches!(s.check("garbage", now), Err(ApiError::MalformedToken(_))));
    }
}
