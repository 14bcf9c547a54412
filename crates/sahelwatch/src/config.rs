//! Configuration in two stages, as ripgrep does: raw values are gathered from
//! their sources, then resolved into a validated [`Config`].
//!
//! Precedence, lowest first: built-in defaults < configuration file
//! (`--config FILE`, or `./sahelwatch.toml` when present) < environment
//! (`SAHELWATCH_*`) < command-line flags. Unknown keys in the file are
//! errors. Every error names the key, the value and where it came from.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The configuration file's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database: Option<String>,
    pub listen: Option<String>,
    /// Where trackers send positions with the OsmAnd protocol (`off`: nowhere).
    pub osmand_listen: Option<String>,
    /// MQTT broker to take positions from, `host:port` (default off).
    pub mqtt: Option<String>,
    /// Topic prefix of device positions on the broker (default `sahelwatch`).
    pub mqtt_topic_prefix: Option<String>,
    /// MQTT client id; the broker keeps waiting positions under it (default `sahelwatch`).
    pub mqtt_client_id: Option<String>,
    /// Let webhooks reach loopback and private addresses (default false).
    pub webhooks_allow_private: Option<bool>,
    pub starter_data: Option<bool>,
    pub organisation: Option<String>,
    pub log: Option<String>,
    pub public_api: Option<bool>,
    pub secure_cookies: Option<bool>,
    pub trust_forwarded_for: Option<bool>,
    /// A TOML file of actors that extends the bundled dictionary of report
    /// extraction (same shape as `crates/sahelwatch-extract/data/actors.toml`);
    /// a relative path is relative to the configuration file.
    pub actors_file: Option<PathBuf>,
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("the default"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Flag(n) => write!(f, "flag --{n}"),
        }
    }
}

/// A raw value with its source.
#[derive(Debug, Clone)]
pub struct Raw<T> {
    pub value: T,
    pub source: Source,
}

/// Values given on the command line or in the environment (clap reads both;
/// it reports which one a value came from).
#[derive(Debug, Default, Clone)]
pub struct LowArgs {
    pub config: Option<PathBuf>,
    pub database: Option<Raw<String>>,
    pub listen: Option<Raw<String>>,
    pub osmand_listen: Option<Raw<String>>,
    pub mqtt: Option<Raw<String>>,
    pub starter_data: Option<Raw<bool>>,
    pub organisation: Option<Raw<String>>,
    pub log: Option<Raw<String>>,
    pub public_api: Option<Raw<bool>>,
    pub secure_cookies: Option<Raw<bool>>,
    pub trust_forwarded_for: Option<Raw<bool>>,
}

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// A SQLite path or a `postgres://` URL.
    pub database: String,
    pub listen: SocketAddr,
    /// The OsmAnd (Traccar Client) port, if on.
    pub osmand_listen: Option<SocketAddr>,
    /// The MQTT broker positions come from, if any.
    pub mqtt: Option<sahelwatch_server::mqtt::MqttConfig>,
    /// Webhooks may reach loopback and private addresses.
    pub webhooks_allow_private: bool,
    /// Load the bundled starter data into a new, empty database on `serve`.
    pub starter_data: bool,
    /// The organisation that owns what this installation imports.
    pub organisation: String,
    /// A tracing filter (`info`, `sahelwatch=debug,tower_http=info`).
    pub log: String,
    /// Serve TLP:CLEAR incidents to unauthenticated API callers.
    pub public_api: bool,
    /// Mark the session cookie `Secure` (when a TLS proxy is in front).
    pub secure_cookies: bool,
    /// Trust `X-Forwarded-For` for the client address (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// The configuration file that was read, if any.
    pub file: Option<PathBuf>,
    /// The extra actors of `actors_file` (checked when the configuration
    /// is read), as TOML text.
    pub extra_actors: Option<String>,
}

pub const DEFAULT_DATABASE: &str = "sahelwatch.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Traccar's port for the OsmAnd protocol.
pub const DEFAULT_OSMAND_LISTEN: &str = "127.0.0.1:5055";
pub const DEFAULT_FILE: &str = "sahelwatch.toml";

fn pick<T: Clone>(
    arg: &Option<Raw<T>>,
    file: Option<T>,
    path: &Option<PathBuf>,
    default: T,
) -> Raw<T> {
    if let Some(a) = arg {
        return a.clone();
    }
    match (file, path) {
        (Some(v), Some(p)) => Raw {
            value: v,
            source: Source::File(p.clone()),
        },
        _ => Raw {
            value: default,
            source: Source::Default,
        },
    }
}

/// Read the configuration file: the one named, or `./sahelwatch.toml` when it exists.
fn read_file(explicit: Option<&Path>) -> Result<(FileConfig, Option<PathBuf>)> {
    let path = match explicit {
        Some(p) => {
            if !p.exists() {
                bail!("configuration file {} does not exist", p.display());
            }
            p.to_path_buf()
        }
        None => {
            let p = PathBuf::from(DEFAULT_FILE);
            if !p.exists() {
                return Ok((FileConfig::default(), None));
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let cfg: FileConfig = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim()))?;
    Ok((cfg, Some(path)))
}

impl Config {
    pub fn resolve(low: &LowArgs) -> Result<Config> {
        let (file, path) = read_file(low.config.as_deref())?;
        let database = pick(
            &low.database,
            file.database,
            &path,
            DEFAULT_DATABASE.to_string(),
        );
        if database.value.trim().is_empty() {
            bail!("database is empty (from {})", database.source);
        }
        let listen = pick(&low.listen, file.listen, &path, DEFAULT_LISTEN.to_string());
        let listen_addr: SocketAddr = listen.value.parse().map_err(|_| {
            anyhow::anyhow!(
                "listen = '{}' (from {}) is not an address and port such as 127.0.0.1:8080",
                listen.value,
                listen.source
            )
        })?;
        let osmand = pick(
            &low.osmand_listen,
            file.osmand_listen,
            &path,
            DEFAULT_OSMAND_LISTEN.to_string(),
        );
        let osmand_listen = if osmand.value.trim() == "off" {
            None
        } else {
            Some(osmand.value.parse::<SocketAddr>().map_err(|_| {
                anyhow::anyhow!(
                    "osmand_listen = '{}' (from {}) is not an address and port such as 127.0.0.1:5055, nor off",
                    osmand.value,
                    osmand.source
                )
            })?)
        };
        let mqtt_raw = pick(&low.mqtt, file.mqtt, &path, "off".to_string());
        let mqtt = if mqtt_raw.value.trim() == "off" {
            None
        } else {
            Some(
                sahelwatch_server::mqtt::MqttConfig::parse(
                    mqtt_raw.value.trim(),
                    file.mqtt_topic_prefix.as_deref().unwrap_or("sahelwatch"),
                    file.mqtt_client_id.as_deref().unwrap_or("sahelwatch"),
                )
                .map_err(|e| {
                    anyhow::anyhow!(
                        "mqtt = '{}' (from {}): {e}; give host:port such as 127.0.0.1:1883, or off",
                        mqtt_raw.value,
                        mqtt_raw.source
                    )
                })?,
            )
        };
        let starter = pick(&low.starter_data, file.starter_data, &path, true);
        let organisation = pick(
            &low.organisation,
            file.organisation,
            &path,
            sahelwatch_app::DEFAULT_ORG.to_string(),
        );
        if organisation.value.trim().is_empty() {
            bail!("organisation is empty (from {})", organisation.source);
        }
        let log = pick(&low.log, file.log, &path, "info".to_string());
        if tracing_subscriber::EnvFilter::try_new(&log.value).is_err() {
            bail!(
                "log = '{}' (from {}) is not a log filter such as info or sahelwatch=debug",
                log.value,
                log.source
            );
        }
        let public_api = pick(&low.public_api, file.public_api, &path, false).value;
        let secure_cookies = pick(&low.secure_cookies, file.secure_cookies, &path, false).value;
        let trust_forwarded_for = pick(
            &low.trust_forwarded_for,
            file.trust_forwarded_for,
            &path,
            false,
        )
        .value;
        let extra_actors = match (&file.actors_file, &path) {
            (Some(f), Some(cfg)) => {
                let f = cfg.parent().unwrap_or(Path::new(".")).join(f);
                let text = std::fs::read_to_string(&f).with_context(|| {
                    format!(
                        "actors_file = '{}' (from {}): cannot read it",
                        f.display(),
                        cfg.display()
                    )
                })?;
                sahelwatch_app::reports::ActorDictionary::with_extra(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "actors_file = '{}' (from {}): {e}",
                        f.display(),
                        cfg.display()
                    )
                })?;
                Some(text)
            }
            _ => None,
        };
        Ok(Config {
            extra_actors,
            public_api,
            secure_cookies,
            trust_forwarded_for,
            database: database.value,
            listen: listen_addr,
            osmand_listen,
            mqtt,
            webhooks_allow_private: file.webhooks_allow_private.unwrap_or(false),
            starter_data: starter.value,
            organisation: organisation.value.trim().to_string(),
            log: log.value,
            file: path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("sw.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn an_actors_file_extends_the_dictionary_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("extra.toml"),
            "[[actor]]\nname = \"Katiba Serma\"\ninter = 2\naliases = [\"Katiba Serma\"]\n",
        )
        .unwrap();
        let p = write(dir.path(), "actors_file = \"extra.toml\"\n");
        let c = Config::resolve(&LowArgs {
            config: Some(p.clone()),
            ..Default::default()
        })
        .unwrap();
        let dict = sahelwatch_app::reports::ActorDictionary::with_extra(
            c.extra_actors.as_deref().unwrap(),
        )
        .unwrap();
        assert_eq!(
            dict.extract("La Katiba Serma a attaqué.")[0].value.name,
            "Katiba Serma"
        );
        std::fs::write(dir.path().join("extra.toml"), "[[actor]]\nname = 3\n").unwrap();
        let e = Config::resolve(&LowArgs {
            config: Some(p.clone()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("actors_file") && e.contains("extra.toml"), "{e}");
        std::fs::write(&p, "actors_file = \"missing.toml\"\n").unwrap();
        let e = Config::resolve(&LowArgs {
            config: Some(p),
            ..Default::default()
        })
        .unwrap_err();
        assert!(format!("{e:#}").contains("missing.toml"), "{e:#}");
    }

    #[test]
    fn precedence_is_default_file_env_flag() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "database = \"from-file.db\"\nlisten = \"127.0.0.1:9000\"\n",
        );
        let mut low = LowArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        let c = Config::resolve(&low).unwrap();
        assert_eq!(c.database, "from-file.db");
        assert_eq!(c.listen.port(), 9000);
        assert!(c.starter_data, "default");
        low.database = Some(Raw {
            value: "from-env.db".into(),
            source: Source::Env("SAHELWATCH_DATABASE"),
        });
        assert_eq!(Config::resolve(&low).unwrap().database, "from-env.db");
        low.listen = Some(Raw {
            value: "127.0.0.1:9100".into(),
            source: Source::Flag("listen"),
        });
        assert_eq!(Config::resolve(&low).unwrap().listen.port(), 9100);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_that_say_where() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "databse = \"x.db\"\n");
        let err = Config::resolve(&LowArgs {
            config: Some(p.clone()),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `databse`"), "{err}");
        assert!(err.contains("sw.toml"), "{err}");
        let p = write(dir.path(), "listen = \"everywhere\"\n");
        let err = Config::resolve(&LowArgs {
            config: Some(p),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("listen = 'everywhere'") && err.contains("sw.toml"),
            "{err}"
        );
        let low = LowArgs {
            listen: Some(Raw {
                value: "8080".into(),
                source: Source::Env("SAHELWATCH_LISTEN"),
            }),
            ..Default::default()
        };
        let err = Config::resolve(&low).unwrap_err().to_string();
        assert!(
            err.contains("environment variable SAHELWATCH_LISTEN"),
            "{err}"
        );
        let err = Config::resolve(&LowArgs {
            config: Some(dir.path().join("missing.toml")),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
