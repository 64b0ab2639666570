//! The local secrets file: app credentials (and optionally Slack webhooks) for people without AWS.
//!
//! A JSON object of the same names as the environment variables (`MELI_CLIENT_ID`,
//! `MELI_CLIENT_SECRET`, `MELI_REFRESH_TOKEN`, `MELI_SLACK_WEBHOOK_URLS`). It is created with mode 0600,
//! and a file that others can read is refused, as ssh does with keys. The environment wins over it.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Why the secrets file could not be used. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read the secrets file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the secrets file {path} is not a JSON object of strings; fix or delete it and run `meli-radar auth` again"
    )]
    Malformed { path: String },
    #[error("the secrets file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: String, mode: u32 },
    #[error("cannot write the secrets file {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The secrets file of a data directory: `MELI_SECRETS_FILE`, or `{data_dir}/secrets.json`.
pub fn path_for(data_dir: &Path) -> PathBuf {
    crate::config::env("MELI_SECRETS_FILE").map(PathBuf::from).unwrap_or_else(|| data_dir.join("secrets.json"))
}

/// The values of a secrets file (absent file: none).
#[derive(Default)]
pub struct SecretsFile {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for SecretsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsFile").field("names", &self.values.keys().collect::<Vec<_>>()).finish()
    }
}

impl SecretsFile {
    pub fn load(path: &Path) -> Result<Self, SecretsError> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(SecretsError::Read { path: shown, source }),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(SecretsError::TooOpen { path: shown, mode });
                }
            }
        }
        let values: BTreeMap<String, String> =
            serde_json::from_str(&text).map_err(|_| SecretsError::Malformed { path: shown })?;
        Ok(SecretsFile { values })
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.values.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }

    pub fn set(&mut self, name: &str, value: String) {
        self.values.insert(name.to_string(), value);
    }

    /// Writes the file with mode 0600 (created that way, never widened).
    pub fn save(&self, path: &Path) -> Result<(), SecretsError> {
        let shown = path.display().to_string();
        let err = |source| SecretsError::Write { path: shown.clone(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let text = serde_json::to_string_pretty(&self.values).map_err(|e| err(std::io::Error::other(e)))?;
        let tmp = path.with_extension("json.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(text.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_private_mode_and_refuses_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        let mut s = SecretsFile::default();
        s.set("MELI_CLIENT_SECRET", "s3cr3t-value".into());
        s.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            let back = SecretsFile::load(&path).unwrap();
            assert_eq!(back.get("MELI_CLIENT_SECRET").as_deref(), Some("s3cr3t-value"));
            assert!(!format!("{back:?}").contains("s3cr3t"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = SecretsFile::load(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
            assert!(!err.contains("s3cr3t"));
        }
        std::fs::write(dir.path().join("bad.json"), "[1,2]").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path().join("bad.json"), std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(SecretsFile::load(&dir.path().join("bad.json")), Err(SecretsError::Malformed { .. })));
        assert!(SecretsFile::load(&dir.path().join("absent.json")).unwrap().get("X").is_none());
    }
}
