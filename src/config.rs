//! The validated server configuration: flags with `FERRY_*` environment twins, defaults, and the
//! one-line form printed at startup.

use clap::{Parser, ValueEnum};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use crate::storage::SyncPolicy;

/// The largest message AWS accepts today (1 MiB); also the default `MaximumMessageSize`.
pub const AWS_MAX_MESSAGE_SIZE: usize = 1_048_576;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Everything the server needs to start; parsed from flags and `FERRY_*` variables.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "ferry",
    version,
    about = "SQS, SNS and EventBridge on localhost, durably."
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "FERRY_LISTEN", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,
    /// Directory of the sled database.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Keep nothing on disk.
    #[arg(long, env = "FERRY_IN_MEMORY", default_value_t = false)]
    pub in_memory: bool,
    /// Account used when the access key id is not a 12-digit number.
    #[arg(long, env = "FERRY_ACCOUNT_ID", default_value = "000000000000")]
    pub account_id: String,
    /// tracing filter, e.g. `info` or `ferry=debug`.
    #[arg(long, env = "FERRY_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    #[arg(long, env = "FERRY_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// When an acknowledged write reaches the device: `always` (answer after fdatasync) or an
    /// interval such as `1s` (answer after write(), fdatasync in the background that often).
    #[arg(long, env = "FERRY_SYNC", default_value = "1s")]
    pub sync: SyncPolicy,
    /// Upper bound for `MaximumMessageSize` (AWS: 1 MiB).
    #[arg(long, env = "FERRY_MAX_MESSAGE_SIZE", default_value_t = AWS_MAX_MESSAGE_SIZE)]
    pub max_message_size: usize,
    /// A PEM file of CA certificates that https:// subscriptions also trust, besides Mozilla's
    /// and the system's roots (AWS delivers only to certificates from a trusted CA).
    #[arg(long, env = "FERRY_HTTPS_CA")]
    pub https_ca: Option<PathBuf>,
    /// Most EventBridge rules on one event bus (AWS's default quota, which AWS raises on request).
    #[arg(long, env = "FERRY_MAX_RULES_PER_BUS", default_value_t = 300)]
    pub max_rules_per_bus: usize,
}

impl Config {
    /// Defaults for tests and embedding: in memory, ephemeral port.
    pub fn in_memory() -> Self {
        Config {
            listen: "127.0.0.1:0".parse().expect("static address"),
            data_dir: PathBuf::from("./data"),
            in_memory: true,
            account_id: "000000000000".into(),
            log_level: "info".into(),
            log_format: LogFormat::Text,
            max_message_size: AWS_MAX_MESSAGE_SIZE,
            sync: SyncPolicy::default(),
            https_ca: None,
            max_rules_per_bus: 300,
        }
    }

    /// The same defaults with state under `dir` (tests that restart on a real data directory).
    pub fn on_disk(dir: &std::path::Path) -> Self {
        Config {
            in_memory: false,
            data_dir: dir.to_path_buf(),
            ..Config::in_memory()
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.account_id.len() != 12 || !self.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "--account-id must be 12 digits, got {:?}",
                self.account_id
            ));
        }
        if !(1024..=16 * AWS_MAX_MESSAGE_SIZE).contains(&self.max_message_size) {
            return Err(format!(
                "--max-message-size must be between 1024 and {}, got {}",
                16 * AWS_MAX_MESSAGE_SIZE,
                self.max_message_size
            ));
        }
        if !(1..=100_000).contains(&self.max_rules_per_bus) {
            return Err(format!(
                "--max-rules-per-bus must be between 1 and 100000, got {}",
                self.max_rules_per_bus
            ));
        }
        if let Some(path) = &self.https_ca {
            crate::delivery::read_ca_file(path).map_err(|e| format!("--https-ca: {e}"))?;
        }
        Ok(())
    }
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = if self.in_memory {
            "in-memory".to_string()
        } else {
            format!(
                "disk at {} (resources in sled, messages in the log) sync={}",
                self.data_dir.display(),
                self.sync
            )
        };
        write!(
            f,
            "listen={} store={} account_id={} max_message_size={} log_level={} log_format={:?}",
            self.listen,
            store,
            self.account_id,
            self.max_message_size,
            self.log_level,
            self.log_format
        )?;
        if let Some(path) = &self.https_ca {
            write!(f, " https_ca={}", path.display())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let c = Config::parse_from(["ferry"]);
        assert!(c.validate().is_ok());
        assert_eq!(c.listen.port(), 4566);
        assert_eq!(c.max_message_size, AWS_MAX_MESSAGE_SIZE);
    }

    #[test]
    fn unreadable_https_ca_rejected() {
        let c = Config::parse_from(["ferry", "--https-ca", "/nonexistent/ca.pem"]);
        assert!(c.validate().unwrap_err().contains("/nonexistent/ca.pem"));
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let c = Config::parse_from(["ferry".as_ref(), "--https-ca".as_ref(), empty.as_os_str()]);
        assert!(c.validate().unwrap_err().contains("no PEM certificate"));
    }

    #[test]
    fn bad_account_rejected() {
        let c = Config::parse_from(["ferry", "--account-id", "12"]);
        assert!(c.validate().unwrap_err().contains("12 digits"));
    }
}
