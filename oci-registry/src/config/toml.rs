//! The configuration in TOML: the same keys as Distribution's YAML file,
//! as TOML tables (`[http]` `addr = "..."`, `[storage.filesystem]`
//! `rootdirectory = "..."`), read into the same tree and so checked and
//! warned about alike.

use std::path::Path;

use serde_norway::Value;

use crate::Error;

/// Parses TOML text into the YAML tree the configuration is read from.
pub(super) fn parse(text: &str, path: &Path) -> Result<Value, Error> {
    let table: ::toml::Table = ::toml::from_str(text).map_err(|e| Error::ConfigSyntax {
        path: path.to_owned(),
        location: e.span().map_or("document".into(), |span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line} column {column}")
        }),
        source: Box::new(e),
    })?;
    Ok(to_yaml(::toml::Value::Table(table)))
}

fn to_yaml(v: ::toml::Value) -> Value {
    use ::toml::Value as T;
    match v {
        T::String(s) => Value::String(s),
        T::Integer(i) => Value::Number(i.into()),
        T::Float(f) => Value::Number(f.into()),
        T::Boolean(b) => Value::Bool(b),
        T::Datetime(d) => Value::String(d.to_string()),
        T::Array(a) => Value::Sequence(a.into_iter().map(to_yaml).collect()),
        T::Table(t) => Value::Mapping(
            t.into_iter()
                .map(|(k, v)| (Value::String(k), to_yaml(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::{Config, Deletes, Error};

    const YAML: &str = "version: 0.1
colour: blue
log:
  level: debug
  formatter: text
storage:
  filesystem:
    rootdirectory: /srv/registry
  delete:
    enabled: true
http:
  addr: :5001
  draintimeout: 1m30s
  debug:
    addr: 127.0.0.1:5002
    prometheus:
      enabled: true
      path: /prom
  headers:
    X-Content-Type-Options: [nosniff]
";

    const TOML: &str = r#"version = "0.1"
colour = "blue"

[log]
level = "debug"
formatter = "text"

[storage.filesystem]
rootdirectory = "/srv/registry"

[storage.delete]
enabled = true

[http]
addr = ":5001"
draintimeout = "1m30s"

[http.debug]
addr = "127.0.0.1:5002"

[http.debug.prometheus]
enabled = true
path = "/prom"

[http.headers]
X-Content-Type-Options = ["nosniff"]
"#;

    #[test]
    fn toml_and_yaml_give_the_same_config() {
        let y = Config::from_yaml(YAML, Path::new("c.yml")).unwrap();
        let t = Config::from_toml(TOML, Path::new("c.toml")).unwrap();
        assert_eq!(y, t);
        assert_eq!(t.addr, ":5001");
        assert_eq!(t.root, Path::new("/srv/registry"));
        assert_eq!(t.deletes, Deletes::Enabled);
        assert_eq!(t.debug_addr.as_deref(), Some("127.0.0.1:5002"));
        assert_eq!(t.metrics_path.as_deref(), Some("/prom"));
        assert_eq!(t.drain_timeout, Duration::from_secs(90));
        assert_eq!(
            t.warnings,
            [
                "unknown key colour is ignored",
                "log.formatter is not supported yet and is ignored",
                "http.headers is not supported yet and is ignored",
            ]
        );
    }

    #[test]
    fn prometheus_is_off_unless_enabled_and_defaults_hold() {
        let c = Config::from_toml("[http.debug]\naddr = \":5002\"\n", Path::new("c.toml")).unwrap();
        assert_eq!(c.debug_addr.as_deref(), Some(":5002"));
        assert_eq!(c.metrics_path, None);
        assert_eq!(c.drain_timeout, crate::DEFAULT_DRAIN_TIMEOUT);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let c = Config::from_toml(
            "[http.debug.prometheus]\nenabled = true\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(c.metrics_path.as_deref(), Some("/metrics"));
    }

    #[test]
    fn bad_toml_names_the_place_and_bad_values_their_key() {
        let e = Config::from_toml("[http]\naddr = \n", Path::new("c.toml")).unwrap_err();
        assert!(
            matches!(&e, Error::ConfigSyntax { location, .. } if location.starts_with("line 2")),
            "{e:?}"
        );
        let e = Config::from_toml("[http]\ndraintimeout = 30\n", Path::new("c.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration key http.draintimeout: expected a duration such as 30s, found \"30\""
        );
        let e = Config::from_toml(
            "[http.debug.prometheus]\nenabled = \"yes\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("http.debug.prometheus.enabled"),
            "{e}"
        );
    }
}
