//! Add or remove one CA path in `[OUTER."INNER"] ca = [...]` of a TOML file, keeping the
//! user's comments, order and other settings byte for byte (toml_edit).
//!
//! Used for BuildKit's `buildkitd.toml` (`[registry."host:port"] ca = [...]`) and
//! containerd's `hosts.toml` (`[host."https://host:port"] ca = ...`, string or array).

use toml_edit::{Array, DocumentMut, Item, Table, Value};

#[derive(Debug, thiserror::Error)]
pub(crate) enum TomlCaError {
    #[error("{0}")]
    Parse(#[from] toml_edit::TomlError),
    #[error("`{0}` is not a table — edit this file by hand")]
    NotATable(String),
    #[error("`ca` of [{0}] is neither a string nor an array — edit this file by hand")]
    BadCa(String),
}

/// `Some(new text)` when `ca_path` had to be added, `None` when it is already listed.
pub(crate) fn add_ca(
    text: &str,
    outer: &str,
    inner: &str,
    ca_path: &str,
    extra: &[(&str, Value)],
) -> Result<Option<String>, TomlCaError> {
    let mut doc: DocumentMut = text.parse()?;
    let label = format!("{outer}.\"{inner}\"");
    let outer_table = doc
        .entry(outer)
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| TomlCaError::NotATable(outer.to_string()))?;
    let table = outer_table
        .entry(inner)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or_else(|| TomlCaError::NotATable(label.clone()))?;
    for (key, value) in extra {
        if !table.contains_key(key) {
            table.insert(key, Item::Value(value.clone()));
        }
    }
    match table.get_mut("ca") {
        None => {
            let mut list = Array::new();
            list.push(ca_path);
            table.insert("ca", Item::Value(Value::Array(list)));
        }
        Some(item) => match item.as_value_mut() {
            Some(Value::String(existing)) => {
                if existing.value() == ca_path {
                    return Ok(None);
                }
                let mut list = Array::new();
                list.push(existing.value().clone());
                list.push(ca_path);
                *item = Item::Value(Value::Array(list));
            }
            Some(Value::Array(list)) => {
                if list.iter().any(|v| v.as_str() == Some(ca_path)) {
                    return Ok(None);
                }
                list.push(ca_path);
            }
            _ => return Err(TomlCaError::BadCa(label)),
        },
    }
    Ok(Some(doc.to_string()))
}

/// Whether `[OUTER."INNER"].ca` lists `ca_path`.
#[cfg(test)]
pub(crate) fn has_ca(text: &str, outer: &str, inner: &str, ca_path: &str) -> bool {
    let Ok(doc) = text.parse::<DocumentMut>() else {
        return false;
    };
    let ca = doc
        .get(outer)
        .and_then(Item::as_table_like)
        .and_then(|t| t.get(inner))
        .and_then(Item::as_table_like)
        .and_then(|t| t.get("ca"));
    match ca.and_then(Item::as_value) {
        Some(Value::String(s)) => s.value() == ca_path,
        Some(Value::Array(list)) => list.iter().any(|v| v.as_str() == Some(ca_path)),
        _ => false,
    }
}

/// Remove `ca_path` from `[OUTER."INNER"].ca`; drop keys in `ours` and the table when
/// nothing else is left in it, and the outer table when it becomes empty. `None` when
/// the path is not listed (nothing to do).
pub(crate) fn remove_ca(
    text: &str,
    outer: &str,
    inner: &str,
    ca_path: &str,
    ours: &[(&str, Value)],
) -> Result<Option<String>, TomlCaError> {
    let mut doc: DocumentMut = text.parse()?;
    let Some(outer_table) = doc.get_mut(outer).and_then(Item::as_table_mut) else {
        return Ok(None);
    };
    let Some(table) = outer_table.get_mut(inner).and_then(Item::as_table_mut) else {
        return Ok(None);
    };
    let now_empty = match table.get_mut("ca").and_then(Item::as_value_mut) {
        Some(Value::String(s)) if s.value() == ca_path => true,
        Some(Value::Array(list)) => {
            let before = list.len();
            list.retain(|v| v.as_str() != Some(ca_path));
            if list.len() == before {
                return Ok(None);
            }
            list.is_empty()
        }
        _ => return Ok(None),
    };
    if now_empty {
        table.remove("ca");
    }
    // Keys we added (e.g. containerd's `capabilities`) go too, if still what we wrote and
    // nothing else of the user's remains in the table.
    let only_ours = table.iter().all(|(key, item)| {
        ours.iter().any(|(k, v)| {
            *k == key
                && item.as_value().map(|x| x.to_string().trim().to_string())
                    == Some(v.to_string().trim().to_string())
        })
    });
    if only_ours {
        outer_table.remove(inner);
    }
    if outer_table.is_empty() {
        doc.remove(outer);
    }
    let mut out = doc.to_string();
    // The line end of the user's last line can belong to the table we removed.
    if text.ends_with('\n') && !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(Some(out))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests build their fixtures directly
mod tests {
    use super::*;

    const USER: &str = "# my buildkit settings\ndebug = true # keep me\n\n[registry.\"docker.io\"]\n  mirrors = [\"mirror.local\"] # a mirror\n";
    const FLAT: &str = "# mine\ndebug = true # keep\n";

    #[test]
    fn add_keeps_comments_and_is_idempotent() {
        let added = add_ca(USER, "registry", "192.168.1.50:5000", "/ca.crt", &[])
            .unwrap()
            .unwrap();
        assert!(added.starts_with(USER), "{added}");
        assert!(
            added.contains("[registry.\"192.168.1.50:5000\"]"),
            "{added}"
        );
        assert!(has_ca(&added, "registry", "192.168.1.50:5000", "/ca.crt"));
        assert!(
            add_ca(&added, "registry", "192.168.1.50:5000", "/ca.crt", &[])
                .unwrap()
                .is_none()
        );
        let removed = remove_ca(&added, "registry", "192.168.1.50:5000", "/ca.crt", &[])
            .unwrap()
            .unwrap();
        assert_eq!(removed, USER);
        let added = add_ca(FLAT, "registry", "r", "/c", &[]).unwrap().unwrap();
        let removed = remove_ca(&added, "registry", "r", "/c", &[])
            .unwrap()
            .unwrap();
        assert_eq!(removed, FLAT);
    }

    #[test]
    fn string_ca_becomes_a_list_and_back() {
        let text = "[host.\"https://r:5000\"]\n  ca = \"/theirs.crt\"\n";
        let added = add_ca(text, "host", "https://r:5000", "/ours.crt", &[])
            .unwrap()
            .unwrap();
        assert!(has_ca(&added, "host", "https://r:5000", "/theirs.crt"));
        assert!(has_ca(&added, "host", "https://r:5000", "/ours.crt"));
        let removed = remove_ca(&added, "host", "https://r:5000", "/ours.crt", &[])
            .unwrap()
            .unwrap();
        assert!(has_ca(&removed, "host", "https://r:5000", "/theirs.crt"));
        assert!(!has_ca(&removed, "host", "https://r:5000", "/ours.crt"));
    }

    #[test]
    fn empty_file_round_trips_to_empty() {
        let caps = Value::from(Array::from_iter(["pull", "resolve"]));
        let added = add_ca(
            "",
            "host",
            "https://r",
            "/c",
            &[("capabilities", caps.clone())],
        )
        .unwrap()
        .unwrap();
        assert!(added.contains("capabilities"), "{added}");
        let removed = remove_ca(&added, "host", "https://r", "/c", &[("capabilities", caps)])
            .unwrap()
            .unwrap();
        assert_eq!(removed.trim(), "");
        assert!(add_ca("registry = 1", "registry", "x", "/c", &[]).is_err());
        assert!(add_ca("not toml [", "registry", "x", "/c", &[]).is_err());
    }
}
