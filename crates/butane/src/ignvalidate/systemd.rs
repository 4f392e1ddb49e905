//! The `Systemd` section: unit and dropin names and contents (read with
//! the go-systemd lexer in [`super::unit`]), and enabled instances of
//! templates that cannot be enabled.

use std::collections::HashMap;

use super::{is_true, key_name, not_empty, unit, Rel, Validator};
use crate::out::Out;
use crate::report::KeyPath;

use Rel::{I, K};

/// Go's `path.Ext`.
fn ext(name: &str) -> &str {
    for (i, c) in name.char_indices().rev() {
        match c {
            '/' => return "",
            '.' => return &name[i..],
            _ => {}
        }
    }
    ""
}

/// Go's `%q` of a string.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl Validator<'_> {
    /// The `Systemd` section: template units, duplicate units and dropins,
    /// then each unit's and dropin's name and contents.
    pub(super) fn systemd(&mut self, n: &Out, p: &KeyPath) {
        if !self.dups {
            self.systemd_validate(n, p);
        }
        self.dup_lists(n, p, &[("units", "units", key_name)]);
        for (i, u) in n.items("units").iter().enumerate() {
            let up = p.key("units").index(i);
            if !self.dups {
                self.unit(u, &up);
            }
            self.dup_lists(u, &up, &[("dropins", "dropins", key_name)]);
            if !self.dups {
                for (j, d) in u.items("dropins").iter().enumerate() {
                    let dp = up.key("dropins").index(j);
                    if let Some(Err(e)) = d.get_str("contents").map(unit::parse) {
                        self.error(d, &dp, &[K("contents")], &e);
                    }
                    if ext(d.get_str("name").unwrap_or_default()) != ".conf" {
                        self.error(d, &dp, &[K("name")], "invalid systemd drop-in extension");
                    }
                }
            }
        }
    }

    /// A `Unit`: its extension and contents, and a warning for an enabled
    /// unit with no `[Install]` section.
    fn unit(&mut self, n: &Out, p: &KeyPath) {
        let name = n.get_str("name").unwrap_or_default();
        if !matches!(
            ext(name),
            ".service"
                | ".socket"
                | ".device"
                | ".mount"
                | ".automount"
                | ".swap"
                | ".target"
                | ".path"
                | ".timer"
                | ".snapshot"
                | ".slice"
                | ".scope"
        ) {
            self.error(n, p, &[K("name")], "invalid systemd unit extension");
        }
        let contents = n.get_str("contents");
        match contents.map(unit::parse) {
            Some(Err(e)) => self.error(n, p, &[K("contents")], &e),
            Some(Ok(sections))
                if is_true(n, "enabled")
                    && contents.is_some_and(|c| !c.is_empty())
                    && !sections.iter().any(|s| s == "Install") =>
            {
                let msg = format!(
                    "unit {} is enabled, but has no install section so enable does nothing",
                    quote(name)
                );
                self.warn(n, p, &[K("contents")], &msg);
            }
            _ => {}
        }
    }

    /// `Systemd.Validate`: warns of an enabled instance whose template
    /// has no `[Install]` section.
    fn systemd_validate(&mut self, n: &Out, p: &KeyPath) {
        let units = n.items("units");
        let mut by_name: HashMap<&str, &Out> = HashMap::new();
        for u in units {
            by_name.insert(u.get_str("name").unwrap_or_default(), u);
        }
        for (i, u) in units.iter().enumerate() {
            let name = u.get_str("name").unwrap_or_default();
            let Some(prefix) = instance_prefix(name) else {
                continue;
            };
            if !is_true(u, "enabled") {
                continue;
            }
            let template = format!("{prefix}@.service");
            let Some(t) = by_name.get(template.as_str()) else {
                continue;
            };
            let Some(contents) = not_empty(t, "contents") else {
                continue;
            };
            let Ok(sections) = unit::parse(contents) else {
                continue;
            };
            if !sections.iter().any(|s| s == "Install") {
                let msg = format!(
                    "template unit {} for {} doesn't have Install section",
                    quote(&template),
                    quote(name)
                );
                self.warn(n, p, &[K("units"), I(i), K("contents")], &msg);
            }
        }
    }
}

/// `^(.+?)@(.+?)\.service$`: the template prefix of an instance name.
fn instance_prefix(name: &str) -> Option<&str> {
    if name.contains('\n') {
        return None;
    }
    let stem = name.strip_suffix(".service")?;
    stem.char_indices()
        .find(|&(i, c)| c == '@' && i >= 1 && i + 1 < stem.len())
        .map(|(i, _)| &stem[..i])
}
