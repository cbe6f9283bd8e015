//! The object keys of the layout (Distribution's, under the root
//! directory).

use object_store::path::Path;
use ocikit_types::Digest;

use crate::RepositoryName;

/// Builds keys under a root prefix.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    root: String,
}

impl Keys {
    pub(super) fn new(root: &str) -> Keys {
        Keys {
            root: root.trim_matches('/').to_owned(),
        }
    }

    pub(super) fn at(&self, rest: &str) -> Path {
        if self.root.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{}/{rest}", self.root))
        }
    }

    pub(super) fn blob(&self, d: &Digest) -> Path {
        let hex = d.encoded();
        let fan = hex.get(..2).unwrap_or(hex);
        self.at(&format!("blobs/{}/{fan}/{hex}/data", d.algorithm()))
    }

    pub(super) fn repos(&self) -> Path {
        self.at("repositories")
    }

    pub(super) fn repo(&self, repo: &str) -> Path {
        self.at(&format!("repositories/{repo}"))
    }

    pub(super) fn layer(&self, repo: &RepositoryName, d: &Digest) -> Path {
        self.at(&format!(
            "repositories/{repo}/_layers/{}/{}/link",
            d.algorithm(),
            d.encoded()
        ))
    }

    pub(super) fn revision(&self, repo: &RepositoryName, d: &Digest) -> Path {
        self.at(&format!(
            "repositories/{repo}/_manifests/revisions/{}/{}/link",
            d.algorithm(),
            d.encoded()
        ))
    }

    pub(super) fn tags(&self, repo: &RepositoryName) -> Path {
        self.at(&format!("repositories/{repo}/_manifests/tags"))
    }

    pub(super) fn tag(&self, repo: &RepositoryName, tag: &str) -> Path {
        self.at(&format!(
            "repositories/{repo}/_manifests/tags/{tag}/current/link"
        ))
    }

    pub(super) fn referrers(&self, repo: &RepositoryName, subject: &Digest) -> Path {
        self.at(&format!(
            "repositories/{repo}/_referrers/{}/{}",
            subject.algorithm(),
            subject.encoded()
        ))
    }

    pub(super) fn referrer(&self, repo: &RepositoryName, subject: &Digest, r: &Digest) -> Path {
        self.at(&format!(
            "repositories/{repo}/_referrers/{}/{}/{}-{}",
            subject.algorithm(),
            subject.encoded(),
            r.algorithm(),
            r.encoded()
        ))
    }

    pub(super) fn upload(&self, id: &str) -> Path {
        self.at(&format!("_uploads/{id}"))
    }

    pub(super) fn upload_info(&self, id: &str) -> Path {
        self.at(&format!("_uploads/{id}/info"))
    }

    pub(super) fn segments(&self, id: &str) -> Path {
        self.at(&format!("_uploads/{id}/data"))
    }

    /// The segment starting at `offset`: zero-padded, so keys sort in
    /// offset order.
    pub(super) fn segment(&self, id: &str, offset: u64) -> Path {
        self.at(&format!("_uploads/{id}/data/{offset:020}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_distributions_layout() {
        let k = Keys::new("/reg/");
        let d = Digest::sha256(b"");
        let repo = RepositoryName::parse("a/b").unwrap();
        assert_eq!(
            k.blob(&d).as_ref(),
            format!(
                "reg/blobs/sha256/{}/{}/data",
                &d.encoded()[..2],
                d.encoded()
            )
        );
        assert_eq!(
            k.tag(&repo, "v1").as_ref(),
            "reg/repositories/a/b/_manifests/tags/v1/current/link"
        );
        assert!(k.segment("x", 12).as_ref() < k.segment("x", 3 << 20).as_ref());
        assert_eq!(Keys::new("").upload("x").as_ref(), "_uploads/x");
    }
}
