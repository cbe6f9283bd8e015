//! Distribution's `storage.s3` keys (and `storage.redirect.disable`) in
//! `config.yml`.

use serde_norway::Value;

use super::{S3Options, DEFAULT_CHUNK_SIZE};
use crate::settings::{bad, text_of};
use crate::Error;

/// The `storage.s3` keys read so far.
#[derive(Debug, Default)]
pub(crate) struct S3Keys {
    /// Whether `storage.filesystem` was given too.
    pub(crate) filesystem: bool,
    any: bool,
    bucket: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    root: String,
    chunk_size: Option<u64>,
    secure: Option<bool>,
    redirect_disabled: bool,
}

fn flag(key: &str, v: &Value) -> Result<bool, Error> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(bad(key, "true or false", other)),
    }
}

impl S3Keys {
    /// Takes `key` when it is one of these; false when it is not.
    pub(crate) fn take(&mut self, key: &str, v: &Value) -> Result<bool, Error> {
        if key == "storage.redirect.disable" {
            self.redirect_disabled = flag(key, v)?;
            return Ok(true);
        }
        let Some(name) = key.strip_prefix("storage.s3.") else {
            return Ok(false);
        };
        match name {
            "bucket" => self.bucket = Some(text_of(key, v)?),
            "region" => self.region = Some(text_of(key, v)?),
            "regionendpoint" => self.endpoint = Some(text_of(key, v)?),
            "accesskey" => self.access_key = Some(text_of(key, v)?),
            "secretkey" => self.secret_key = Some(text_of(key, v)?),
            "rootdirectory" => self.root = text_of(key, v)?,
            "chunksize" => {
                let n = match v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                };
                let n = n
                    .filter(|n| *n >= 5 << 20)
                    .ok_or_else(|| bad(key, "a size in bytes of at least 5242880", v))?;
                self.chunk_size = Some(n);
            }
            "secure" => self.secure = Some(flag(key, v)?),
            "v4auth" => {
                if !flag(key, v)? {
                    return Err(bad(key, "true (requests are signed with SigV4)", v));
                }
            }
            // Path-style requests are always used with a regionendpoint.
            "forcepathstyle" => {
                flag(key, v)?;
            }
            _ => return Ok(false),
        }
        self.any = true;
        Ok(true)
    }

    /// The options, when `storage.s3` was given.
    pub(crate) fn finish(self) -> Result<Option<S3Options>, Error> {
        if !self.any {
            return Ok(None);
        }
        if self.filesystem {
            return Err(Error::ConfigValue {
                key: "storage".into(),
                expected: "one storage driver",
                found: "both filesystem and s3".into(),
            });
        }
        let missing = |key: &str| Error::ConfigValue {
            key: format!("storage.s3.{key}"),
            expected: "a string",
            found: "nothing".into(),
        };
        let bucket = self.bucket.ok_or_else(|| missing("bucket"))?;
        let region = self.region.ok_or_else(|| missing("region"))?;
        let mut o = S3Options::new(bucket, region)
            .root(self.root)
            .redirect(!self.redirect_disabled);
        o.chunk_size = self.chunk_size.unwrap_or(DEFAULT_CHUNK_SIZE);
        o.endpoint = self.endpoint.map(|e| {
            if e.contains("://") {
                e
            } else if self.secure == Some(false) {
                format!("http://{e}")
            } else {
                format!("https://{e}")
            }
        });
        o.access_key = self.access_key;
        o.secret_key = self.secret_key;
        Ok(Some(o))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::Config;

    #[test]
    fn distributions_s3_keys_are_read() {
        let yaml = "version: 0.1\nstorage:\n  s3:\n    bucket: b1\n    region: us-east-1\n    regionendpoint: 127.0.0.1:8333\n    secure: false\n    v4auth: true\n    accesskey: k\n    secretkey: s\n    rootdirectory: /reg\n    chunksize: 6291456\n    storageclass: STANDARD\n  redirect:\n    disable: true\n";
        let c = Config::from_yaml(yaml, Path::new("c")).unwrap();
        let s3 = c.s3.unwrap();
        assert_eq!(s3.bucket, "b1");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
        assert_eq!(s3.access_key.as_deref(), Some("k"));
        assert_eq!(s3.secret_key.as_deref(), Some("s"));
        assert_eq!(s3.root, "/reg");
        assert_eq!(s3.chunk_size, 6 << 20);
        assert!(!s3.redirect);
        assert!(
            !format!("{s3:?}").contains("\"s\""),
            "the secret is not printed"
        );
        assert_eq!(
            c.warnings,
            ["unknown key storage.s3.storageclass is ignored"]
        );
    }

    #[test]
    fn bad_s3_keys_are_named() {
        let e = |yaml: &str| {
            Config::from_yaml(yaml, Path::new("c"))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("storage:\n  s3:\n    region: r\n"),
            "configuration key storage.s3.bucket: expected a string, found \"nothing\""
        );
        assert!(
            e("storage:\n  s3:\n    bucket: b\n    region: r\n    chunksize: 10\n")
                .contains("storage.s3.chunksize")
        );
        assert!(e(
            "storage:\n  s3:\n    bucket: b\n    region: r\n  filesystem:\n    rootdirectory: /x\n"
        )
        .contains("one storage driver"));
        let c = Config::from_yaml(
            "storage:\n  s3:\n    bucket: b\n    region: r\n",
            Path::new("c"),
        )
        .unwrap();
        assert!(c.s3.unwrap().redirect, "Distribution redirects by default");
    }
}
