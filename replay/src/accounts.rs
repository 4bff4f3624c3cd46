//! The user and group names of the host a recording was made on.
//!
//! Every manifest carries the recorded host's passwd and group tables as
//! they were at record time (`users`, `groups`). A replay gives each
//! recording its own [`Accounts`]: in a fleet replay uid 1000 may be alice
//! on one host and bob on another.

use std::collections::BTreeMap;
use std::sync::Arc;

use hindsight_format::Manifest;

/// uid → user name and gid → group name of one recorded host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    users: BTreeMap<u32, Arc<str>>,
    groups: BTreeMap<u32, Arc<str>>,
}

impl Accounts {
    /// Tables from (id, name) pairs.
    pub fn new<'a>(
        users: impl IntoIterator<Item = (u32, &'a str)>,
        groups: impl IntoIterator<Item = (u32, &'a str)>,
    ) -> Accounts {
        let table = |it: &mut dyn Iterator<Item = (u32, &'a str)>| {
            it.map(|(id, n)| (id, Arc::from(n))).collect()
        };
        Accounts {
            users: table(&mut users.into_iter()),
            groups: table(&mut groups.into_iter()),
        }
    }

    /// The tables of a recording's manifest.
    pub fn from_manifest(m: &Manifest) -> Accounts {
        Accounts::new(
            m.users.iter().map(|(id, n)| (*id, n.as_str())),
            m.groups.iter().map(|(id, n)| (*id, n.as_str())),
        )
    }

    /// The name of user `uid`, when the host had one.
    pub fn user(&self, uid: u32) -> Option<&Arc<str>> {
        self.users.get(&uid)
    }

    /// The name of group `gid`, when the host had one.
    pub fn group(&self, gid: u32) -> Option<&Arc<str>> {
        self.groups.get(&gid)
    }

    /// Whether both tables are empty (nothing is known about the host).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_manifests_tables() {
        let mut m = Manifest::default();
        m.users.insert(1000, "alice".into());
        m.groups.insert(27, "sudo".into());
        let a = Accounts::from_manifest(&m);
        assert_eq!(a.user(1000).map(|n| &**n), Some("alice"));
        assert_eq!(a.group(27).map(|n| &**n), Some("sudo"));
        assert_eq!(a.user(27), None);
        assert!(!a.is_empty());
        assert!(Accounts::default().is_empty());
    }
}
